import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';

const POSTED = 0;
const DONE = 1;
const READY = 2;

/** How long a helper may take to start, and to answer one job, before it is declared broken. */
const START_TIMEOUT_MS = 60_000;
const JOB_TIMEOUT_MS = 2 * 60_000; // split jobs take milliseconds, at 256² up to about a second
/**
 * Most filters and biases a helper keeps between jobs. Each is dropped when its tensor is freed (see
 * `forget`); this bound only matters for tensors that live on unused.
 */
const CONSTANTS_KEPT = 256;

/** An input a helper keeps between jobs: sent once, then named by id. */
export interface HelperConstant {
  /** Identity of the values: the same key must always mean the same values. */
  key: object;
  shape: number[];
  /** The values (a view is fine: they are copied); only called when the helper does not hold them yet. */
  read(): Float32Array;
}

export interface HelperJob {
  kernel: string;
  /**
   * The input that differs from job to job: its values (a view is fine: they are copied), shape and
   * name among the kernel's inputs (default `x`).
   */
  x: { data: Float32Array; shape: number[]; name?: string };
  /** The other inputs (filter, bias, …). */
  constants: Record<string, HelperConstant>;
  attrs: tf.NamedAttrMap;
  /** Size of the result, so that the shared buffer has room for it. */
  outSize: number;
}

export interface HelperResult {
  /** A view of the shared buffer, valid until the helper's next job. */
  data: Float32Array;
  shape: number[];
  /** How long the helper worked on the job. */
  ms: number;
}

/**
 * One helper thread with its own WASM instance (conv-worker.js). `post` hands it a job and returns at
 * once; `collect` blocks until its result is back. The main thread computes its own share in between.
 * Values travel through one shared buffer per helper (inputs first, the result after them), so a job
 * costs one copy in and one copy out on each side, and no allocation.
 */
export class ConvHelper {
  private readonly flags: Int32Array;
  private posted = 0;
  private pending = false;
  private shared = new SharedArrayBuffer(0);
  private outOffset = 0;
  /** Key of each constant sent → its id, least recently used first. */
  private readonly sent = new Map<object, number>();
  private nextId = 1;
  /** Ids of constants whose tensors were freed, dropped by the helper with the next job. */
  private forgotten: number[] = [];
  /** Tells the helper to drop every constant with the next job. */
  private reset = false;
  /** Set when the thread died; the next job then fails at once instead of waiting for an answer. */
  private broken: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly port: MessagePort,
    control: SharedArrayBuffer,
  ) {
    this.flags = new Int32Array(control);
  }

  static async start(): Promise<ConvHelper> {
    const control = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(new URL('./conv-worker.js', import.meta.url), {
      workerData: { control, port: port2 },
      transferList: [port2],
    });
    // Neither keeps the process alive: a helper only ever works while the main thread waits for it.
    worker.unref();
    port1.unref();
    const flags = new Int32Array(control);
    let failure: Error | undefined;
    const onError = (err: Error) => {
      failure = err;
    };
    const onExit = (code: number) => {
      failure = new Error(`conv helper exited with code ${code} while starting`);
    };
    worker.once('error', onError).once('exit', onExit);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Atomics.load(flags, READY) === 0) {
      if (failure) throw failure;
      if (Date.now() > deadline) throw new Error('conv helper did not start within a minute');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    worker.off('error', onError).off('exit', onExit);
    const helper = new ConvHelper(worker, port1, control);
    worker.on('error', (err) => {
      helper.broken = err;
    });
    worker.on('exit', (code) => {
      helper.broken ??= new Error(`exited with code ${code}`);
    });
    return helper;
  }

  /** How many jobs the helper was given. */
  get jobs(): number {
    return this.posted;
  }

  /** How many filters and biases the helper holds now. */
  get constantsHeld(): number {
    return this.sent.size;
  }

  /** Whether a job is out (its result not collected yet). */
  get busy(): boolean {
    return this.pending;
  }

  /** The values under `key` are gone (their tensor was freed): the helper frees its copy too. */
  forget(key: object): void {
    const id = this.sent.get(key);
    if (id === undefined) return;
    this.sent.delete(key);
    this.forgotten.push(id);
  }

  post(job: HelperJob): void {
    if (this.pending) throw new Error('conv helper: a job is already pending');
    if (this.broken) throw new Error(`conv helper died: ${this.broken.message}`);
    const constants: Record<string, { id: number; shape: number[]; offset?: number }> = {};
    const toSend: { offset: number; data: Float32Array }[] = [];
    let end = job.x.data.length;
    for (const [name, c] of Object.entries(job.constants)) {
      let id = this.sent.get(c.key);
      if (id !== undefined) {
        this.sent.delete(c.key); // re-insert as most recently used
        this.sent.set(c.key, id);
        constants[name] = { id, shape: c.shape };
      } else {
        id = this.nextId++;
        this.sent.set(c.key, id);
        const data = c.read();
        constants[name] = { id, shape: c.shape, offset: end };
        toSend.push({ offset: end, data });
        end += data.length;
      }
    }
    const evict = this.forgotten;
    this.forgotten = [];
    for (const [key, id] of this.sent) {
      if (this.sent.size <= CONSTANTS_KEPT) break;
      this.sent.delete(key);
      evict.push(id);
    }
    let grown: SharedArrayBuffer | undefined;
    const need = end + job.outSize; // floats
    const have = this.shared.byteLength / Float32Array.BYTES_PER_ELEMENT;
    if (have < need) {
      const floats = Math.max(need, Math.floor(have * 1.5)); // grow by half at least: fewer regrowths
      grown = this.shared = new SharedArrayBuffer(floats * Float32Array.BYTES_PER_ELEMENT);
    }
    const view = new Float32Array(this.shared);
    view.set(job.x.data, 0);
    for (const s of toSend) view.set(s.data, s.offset);
    this.outOffset = end;
    this.port.postMessage({
      kernel: job.kernel,
      attrs: job.attrs,
      x: { shape: job.x.shape, name: job.x.name ?? 'x' },
      constants,
      out: { offset: end, size: job.outSize },
      evict,
      reset: this.reset,
      shared: grown,
    });
    this.reset = false;
    this.pending = true;
    this.posted++;
    Atomics.store(this.flags, POSTED, this.posted);
    Atomics.notify(this.flags, POSTED);
  }

  collect(): HelperResult {
    if (!this.pending) throw new Error('conv helper: no job is pending');
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    while (Atomics.load(this.flags, DONE) < this.posted) {
      if (Date.now() > deadline) throw new Error('conv helper: no answer within 2 minutes');
      Atomics.wait(this.flags, DONE, this.posted - 1, 1000);
    }
    this.pending = false;
    const reply = receiveMessageOnPort(this.port)?.message as
      | { shape: number[]; ms: number }
      | { error: string }
      | undefined;
    if (!reply) throw new Error('conv helper: answered without a result');
    if ('error' in reply) {
      // The helper may have stored some constants of the failed job and not others: start afresh.
      this.sent.clear();
      this.forgotten = [];
      this.reset = true;
      throw new Error(`conv helper failed: ${reply.error}`);
    }
    const size = reply.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(this.shared, this.outOffset * Float32Array.BYTES_PER_ELEMENT, size);
    return { data, shape: reply.shape, ms: reply.ms };
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

let helpers: ConvHelper[] = [];
let starting: Promise<number> | undefined;
let wanted = 0;

/** The helper threads ready to take work (none until `startConvHelpers` has finished starting them). */
export function convHelpers(): readonly ConvHelper[] {
  return helpers;
}

/**
 * Starts `count` helper threads for the WASM backend's convolutions (tfjs' own WASM threads need a
 * browser's workers). Until they are up (a few hundred ms: each loads its own tfjs), convolutions run
 * on this thread alone. Resolves to the number started; a helper that cannot start is reported on
 * stderr and the work stays on the threads that did. 0 stops them all.
 */
export function startConvHelpers(count: number): Promise<number> {
  if (count === wanted && starting) return starting;
  wanted = count;
  const previous = starting ?? Promise.resolve(0);
  starting = previous.then(async () => {
    await stopConvHelpers();
    const started = await Promise.allSettled(Array.from({ length: count }, () => ConvHelper.start()));
    const ok = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      const why = failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
      process.stderr.write(
        `skingan: ${count - ok.length} of ${count} conv helper threads could not start (${why})\n`,
      );
    }
    if (wanted !== count) {
      await Promise.all(ok.map((h) => h.stop())); // asked for another count meanwhile
      return 0;
    }
    helpers = ok;
    return ok.length;
  });
  return starting;
}

/**
 * Takes a helper that failed out of the pool (and stops its thread), saying so once on stderr:
 * convolutions go on with the threads left, at worst on this one alone.
 */
export function retireConvHelper(helper: ConvHelper, why: unknown): void {
  if (!helpers.includes(helper)) return;
  helpers = helpers.filter((h) => h !== helper);
  wanted = helpers.length; // a later startConvHelpers(n) starts afresh
  const reason = why instanceof Error ? why.message.split('\n')[0] : String(why);
  process.stderr.write(
    `skingan: a conv helper thread failed (${reason}); going on with ${helpers.length + 1} thread(s)\n`,
  );
  void helper.stop();
}

/** Resolves to the number of helper threads once the last `startConvHelpers` has settled. */
export function convHelpersReady(): Promise<number> {
  return starting ?? Promise.resolve(0);
}

async function stopConvHelpers(): Promise<void> {
  const old = helpers;
  helpers = [];
  await Promise.all(old.map((h) => h.stop()));
}
