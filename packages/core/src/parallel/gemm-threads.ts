import { Worker } from 'node:worker_threads';
import {
  GEMM_PARAMS,
  type GemmFunction,
  type GemmJob,
  gemmArgs,
  gemmModuleBytes,
} from '../kernels/simd-gemm.js';
import { WA, type WasmMemory } from '../kernels/wasm-asm.js';

/** Most of the shared memory the convolutions may use (64 KiB pages): 1 GiB. */
const MAX_PAGES = 16384;
const PAGE = 65536;
/*
 * Control slots. SEQ: the job posted; CLAIM: the job taken, by the helper or (taken back) by this
 * thread, with compareExchange so exactly one of them runs it; DONE: the helper's last finished job;
 * FAILED: a job that threw in the helper; DEAD: set by a helper that exits.
 */
const [SEQ, DONE, READY, FN, NARGS, CLAIM, FAILED, DEAD, ARGS] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
/** A job takes milliseconds; a helper silent this long after taking one has failed. */
const JOB_TIMEOUT_MS = 120_000;
/**
 * A helper wakes within microseconds of a post; one that has not taken its job after this long is
 * gone (or starved of a core): the job is taken back and computed here. Always correct, see CLAIM.
 */
const CLAIM_TIMEOUT_MS = 500;
const FUNCTIONS = Object.keys(GEMM_PARAMS) as GemmFunction[];

/*
 * Each helper instantiates the same module over the same shared memory, then waits for jobs: a
 * function index and its integer arguments in a small control array. Plain JavaScript, run with
 * `eval` (no file of its own to locate once bundled).
 */
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, control, functions } = workerData;
const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
const flags = new Int32Array(control);
process.on('exit', () => {
  Atomics.store(flags, ${DEAD}, 1);
  Atomics.notify(flags, ${DONE});
});
Atomics.store(flags, ${READY}, 1);
let seen = 0;
for (;;) {
  Atomics.wait(flags, ${SEQ}, seen);
  seen = Atomics.load(flags, ${SEQ});
  if (seen < 0) break;
  if (Atomics.compareExchange(flags, ${CLAIM}, seen - 1, seen) !== seen - 1) continue; // taken back
  try {
    const n = flags[${NARGS}];
    const args = Array.from(flags.subarray(${ARGS}, ${ARGS} + n));
    exports[functions[flags[${FN}]]](...args);
  } catch {
    Atomics.store(flags, ${FAILED}, seen);
  }
  Atomics.store(flags, ${DONE}, seen);
  Atomics.notify(flags, ${DONE});
}`;

interface Helper {
  worker: Worker;
  flags: Int32Array;
  seq: number;
}

/**
 * skingan's convolution loops (simd-gemm.ts) over one shared WebAssembly memory, run by this thread
 * and by helper threads at once: a job list is split between them, each writes its own part of the
 * result. Inputs are copied in from tfjs' heap (a memcpy, ~1% of the arithmetic) and results out.
 */
export class GemmThreads {
  readonly memory: WasmMemory & { grow(pages: number): number };
  private readonly exports: Record<GemmFunction, (...args: number[]) => void>;
  private readonly helpers: Helper[] = [];
  private recomputed = 0;

  constructor(helperCount: number) {
    const Memory = WA.Memory as unknown as new (d: object) => WasmMemory & { grow(pages: number): number };
    this.memory = new Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const bytes = gemmModuleBytes(MAX_PAGES);
    const instance = new WA.Instance(new WA.Module(bytes), { env: { memory: this.memory } });
    this.exports = instance.exports as Record<GemmFunction, (...args: number[]) => void>;
    for (let i = 0; i < helperCount; i++) {
      const control = new SharedArrayBuffer(64 * 4);
      const worker = new Worker(HELPER_SOURCE, {
        eval: true,
        workerData: { memory: this.memory, bytes, control, functions: FUNCTIONS },
      });
      worker.unref();
      const drop = () => this.drop(worker);
      worker.on('error', drop).on('exit', drop);
      this.helpers.push({ worker, flags: new Int32Array(control), seq: 0 });
    }
  }

  /** Threads there will be once every helper has started (a helper that died is not counted). */
  get planned(): number {
    return 1 + this.helpers.length;
  }

  /** Threads that can take a share now (this one, and helpers that have started). */
  get threads(): number {
    return 1 + this.helpers.filter((h) => Atomics.load(h.flags, READY) === 1).length;
  }

  /** Makes the memory at least `bytes` long; false where that exceeds the maximum. */
  reserve(bytes: number): boolean {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return true;
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) return false;
    try {
      this.memory.grow(pages);
    } catch {
      return false; // the system refused the memory: the caller falls back to tfjs' kernel
    }
    return true;
  }

  /** Runs `jobs` (calls of `fn`, arguments by name): the first here, the others on ready helpers, or all here. */
  run<F extends GemmFunction>(fn: F, named: readonly GemmJob<F>[]): void {
    // The control array carries the call's arguments in order (GEMM_PARAMS).
    const jobs = named.map((job) => gemmArgs(fn, job));
    const ready = this.helpers.filter((h) => Atomics.load(h.flags, READY) === 1);
    const posted: [Helper, number[]][] = [];
    for (let i = 1; i < jobs.length; i++) {
      const h = ready[i - 1];
      if (!h) {
        this.exports[fn](...jobs[i]!);
        continue;
      }
      const args = jobs[i]!;
      h.flags[FN] = FUNCTIONS.indexOf(fn);
      h.flags[NARGS] = args.length;
      h.flags.set(args, ARGS);
      h.seq++;
      Atomics.store(h.flags, SEQ, h.seq);
      Atomics.notify(h.flags, SEQ);
      posted.push([h, args]);
    }
    if (jobs[0]) this.exports[fn](...jobs[0]);
    for (const [h, args] of posted) {
      if (!this.collect(h)) {
        // The helper died, failed or has not woken: its share is computed here.
        this.recomputed++;
        this.exports[fn](...args);
      }
    }
  }

  /** Jobs a helper took and failed, or never took, that this thread computed instead (diagnostics). */
  get jobsRecomputed(): number {
    return this.recomputed;
  }

  /**
   * Waits for `h`'s job; false when this thread must compute it: the helper threw, exited, or had
   * not taken the job after CLAIM_TIMEOUT_MS (taken back, so it will never run it).
   */
  private collect(h: Helper): boolean {
    const posted = Date.now();
    for (;;) {
      if (Atomics.load(h.flags, DONE) === h.seq) {
        if (Atomics.load(h.flags, FAILED) !== h.seq) return true;
        this.retire(h, 'a job failed in it');
        return false;
      }
      const claimed = Atomics.load(h.flags, CLAIM) === h.seq;
      if (Atomics.load(h.flags, DEAD) === 1) {
        // Exited: whatever it claimed it will not finish; take back what it had not.
        if (!claimed) Atomics.compareExchange(h.flags, CLAIM, h.seq - 1, h.seq);
        this.retire(h, 'it exited');
        return false;
      }
      if (!claimed && Date.now() - posted > CLAIM_TIMEOUT_MS) {
        // Taken back, so it never runs it. Not retired: a starved helper is alive, and a dead one
        // leaves the pool with its 'exit' event.
        if (Atomics.compareExchange(h.flags, CLAIM, h.seq - 1, h.seq) === h.seq - 1) return false;
        continue; // it took the job just now
      }
      if (claimed && Date.now() - posted > JOB_TIMEOUT_MS) {
        throw new Error('skingan: a convolution helper thread stopped answering');
      }
      Atomics.wait(h.flags, DONE, h.seq - 1, 50);
    }
  }

  /** Takes a failed helper out of the pool (saying so once on stderr); the others go on. */
  private retire(h: Helper, why: string): void {
    if (!this.drop(h.worker)) return;
    process.stderr.write(
      `skingan: a convolution helper thread failed (${why}); its work is done on the threads left (${this.threads})\n`,
    );
    void h.worker.terminate();
  }

  private drop(worker: Worker): boolean {
    const at = this.helpers.findIndex((h) => h.worker === worker);
    if (at >= 0) this.helpers.splice(at, 1);
    return at >= 0;
  }

  /** Stops the helpers (tests; the process otherwise exits past them). */
  close(): void {
    for (const h of this.helpers) {
      Atomics.store(h.flags, SEQ, -1);
      Atomics.notify(h.flags, SEQ);
    }
    this.helpers.length = 0;
  }
}
