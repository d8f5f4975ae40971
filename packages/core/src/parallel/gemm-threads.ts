import { Worker } from 'node:worker_threads';
import { gemmModuleBytes } from '../kernels/simd-gemm.js';
import { WA, type WasmMemory } from '../kernels/wasm-asm.js';

/** Most of the shared memory the convolutions may use (64 KiB pages): 1 GiB. */
const MAX_PAGES = 16384;
const PAGE = 65536;
const [SEQ, DONE, READY, FN, NARGS, ARGS] = [0, 1, 2, 3, 4, 5];
/** A job takes milliseconds; a helper silent this long has failed. */
const JOB_TIMEOUT_MS = 120_000;
const FUNCTIONS = ['igemm', 'wgrad', 'pack8', 'packT8'] as const;
export type GemmFunction = (typeof FUNCTIONS)[number];

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
Atomics.store(flags, ${READY}, 1);
let seen = 0;
for (;;) {
  Atomics.wait(flags, ${SEQ}, seen);
  seen = Atomics.load(flags, ${SEQ});
  if (seen < 0) break;
  const n = flags[${NARGS}];
  const args = Array.from(flags.subarray(${ARGS}, ${ARGS} + n));
  exports[functions[flags[${FN}]]](...args);
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

  constructor(helperCount: number) {
    const Memory = WA.Memory as unknown as new (d: object) => WasmMemory & { grow(pages: number): number };
    this.memory = new Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    const bytes = gemmModuleBytes(MAX_PAGES);
    const instance = new WA.Instance(new WA.Module(bytes), { env: { memory: this.memory } });
    this.exports = instance.exports as Record<GemmFunction, (...args: number[]) => void>;
    for (let i = 0; i < helperCount; i++) {
      const control = new SharedArrayBuffer(32 * 4);
      const worker = new Worker(HELPER_SOURCE, {
        eval: true,
        workerData: { memory: this.memory, bytes, control, functions: FUNCTIONS },
      });
      worker.unref();
      worker.on('error', () => {
        const at = this.helpers.findIndex((h) => h.worker === worker);
        if (at >= 0) this.helpers.splice(at, 1);
      });
      this.helpers.push({ worker, flags: new Int32Array(control), seq: 0 });
    }
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

  /** Runs `jobs` (argument lists of `fn`): the first here, the others on ready helpers, or all here. */
  run(fn: GemmFunction, jobs: number[][]): void {
    const ready = this.helpers.filter((h) => Atomics.load(h.flags, READY) === 1);
    const posted: Helper[] = [];
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
      posted.push(h);
    }
    if (jobs[0]) this.exports[fn](...jobs[0]);
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    for (const h of posted) {
      while (Atomics.load(h.flags, DONE) !== h.seq) {
        if (Date.now() > deadline) throw new Error('skingan: a convolution helper thread stopped answering');
        Atomics.wait(h.flags, DONE, h.seq - 1, 50);
      }
    }
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
