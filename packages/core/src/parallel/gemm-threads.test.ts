import { describe, expect, it } from 'vitest';
import { GEMM_PARAMS, gemmArgs } from '../kernels/simd-gemm.js';
import { GemmThreads } from './gemm-threads.js';

describe('GemmThreads', () => {
  it('grows its shared memory on demand and refuses past its maximum, keeping what it has', () => {
    const threads = new GemmThreads(0);
    expect(threads.threads).toBe(1);
    expect(threads.reserve(3 * 65536 + 5)).toBe(true);
    expect(threads.memory.buffer.byteLength).toBeGreaterThanOrEqual(3 * 65536 + 5);
    const before = threads.memory.buffer.byteLength;
    expect(threads.reserve(2 ** 31)).toBe(false); // beyond 1 GiB: callers fall back to tfjs' kernels
    expect(threads.memory.buffer.byteLength).toBe(before);
    threads.close();
  });

  it('runs every job on this thread when no helper is ready', () => {
    const threads = new GemmThreads(0);
    threads.reserve(65536);
    const f = new Float32Array(threads.memory.buffer);
    // pack8 of a 2×8 matrix into one panel: rows stay rows. Two jobs, one row each.
    f.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 64);
    threads.run('pack8', [
      { src: 256, rows: 1, n: 8, dst: 1024, panelBytes: 64 },
      { src: 256 + 32, rows: 1, n: 8, dst: 1024 + 32, panelBytes: 64 },
    ]);
    expect(Array.from(f.subarray(256, 272))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    threads.close();
  });
});

/** Waits (without blocking this thread) until `threads` helpers are up. */
async function started(pool: GemmThreads, threads: number): Promise<void> {
  while (pool.threads < threads) await new Promise((r) => setTimeout(r, 10));
}

const PANEL = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

describe('GemmThreads when a helper dies', () => {
  it('terminate a helper, then run a job posted to it: the job is taken back and computed here, with the right result', async () => {
    const pool = new GemmThreads(1);
    await started(pool, 2);
    // Terminated before its 'exit' event reaches the pool (this thread is blocked in run() then).
    const helper = (pool as unknown as { helpers: { worker: import('node:worker_threads').Worker }[] })
      .helpers[0]!;
    helper.worker.removeAllListeners('exit');
    helper.worker.removeAllListeners('error');
    await helper.worker.terminate();
    pool.reserve(65536);
    const f = new Float32Array(pool.memory.buffer);
    f.set(PANEL, 64);
    pool.run('pack8', [
      { src: 256, rows: 1, n: 8, dst: 1024, panelBytes: 64 },
      { src: 256 + 32, rows: 1, n: 8, dst: 1024 + 32, panelBytes: 64 },
    ]);
    expect(Array.from(f.subarray(256, 272))).toEqual(PANEL);
    expect(pool.jobsRecomputed).toBe(1);
    pool.close();
  }, 60_000);

  it('a job that throws in a helper is recomputed here at once and the helper retired (the trap surfaces, no 120 s wait)', async () => {
    const pool = new GemmThreads(1);
    await started(pool, 2);
    pool.reserve(65536);
    const stderr: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((s: string) => stderr.push(s) > 0) as typeof process.stderr.write;
    try {
      // The second job reads past the end of memory: a WebAssembly trap, in the helper and then here.
      expect(() =>
        pool.run('pack8', [
          { src: 256, rows: 1, n: 8, dst: 1024, panelBytes: 64 },
          { src: 256, rows: 1, n: 8, dst: 2 ** 30, panelBytes: 2 ** 30 },
        ]),
      ).toThrow(/out of bounds/);
    } finally {
      process.stderr.write = write;
    }
    expect(pool.jobsRecomputed).toBe(1);
    expect(pool.threads).toBe(1);
    expect(stderr.join('')).toContain('a convolution helper thread failed (a job failed in it)');
    pool.close();
  }, 60_000);
});

describe('gemmArgs', () => {
  it("puts a job's named fields in the WebAssembly function's parameter order", () => {
    expect(gemmArgs('pack8', { panelBytes: 5, dst: 4, n: 3, rows: 2, src: 1 })).toEqual([1, 2, 3, 4, 5]);
    expect(GEMM_PARAMS.wgrad).toHaveLength(11);
    const wgrad = Object.fromEntries(GEMM_PARAMS.wgrad.map((k, i) => [k, 10 * i])) as never;
    expect(gemmArgs('wgrad', wgrad)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
  });
});
