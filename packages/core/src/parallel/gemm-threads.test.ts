import { describe, expect, it } from 'vitest';
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
      [256, 1, 8, 1024, 64],
      [256 + 32, 1, 8, 1024 + 32, 64],
    ]);
    expect(Array.from(f.subarray(256, 272))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    threads.close();
  });
});
