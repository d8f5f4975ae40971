import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from './random.js';

describe('Rng', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(42)),
    );
    const b = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(42)),
    );
    const c = Array.from(
      { length: 5 },
      (
        (r) => () =>
          r.nextUint32()
      )(new Rng(43)),
    );
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('continues identically from a saved state', () => {
    const r = new Rng('resume');
    for (let i = 0; i < 100; i++) r.normal();
    const saved = r.state;
    const next = [r.float(), r.normal(), r.int(10)];
    const again = new Rng(saved);
    expect([again.float(), again.normal(), again.int(10)]).toEqual(next);
  });

  it('draws normals with mean 0 and std 1 and uniform ints in range', () => {
    const r = new Rng(1);
    const n = 20000;
    const xs = Array.from({ length: n }, () => r.normal());
    const mean = xs.reduce((s, x) => s + x, 0) / n;
    const std = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 1)).toBeLessThan(0.03);
    const counts = new Array(4).fill(0);
    for (let i = 0; i < 4000; i++) counts[r.int(4)]++;
    counts.forEach((c) => {
      expect(Math.abs(c - 1000)).toBeLessThan(120);
    });
  });

  it('shuffles a copy into a permutation, and forks independent streams', () => {
    const items = [1, 2, 3, 4, 5, 6, 7, 8];
    const s = new Rng(3).shuffle(items);
    expect(items).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...s].sort()).toEqual(items);
    expect(s).not.toEqual(items);
    const base = new Rng(5);
    expect(base.fork('noise').nextUint32()).not.toBe(base.fork('shuffle').nextUint32());
    expect(new Rng(5).fork('noise').nextUint32()).toBe(new Rng(5).fork('noise').nextUint32());
  });

  it('makes tensors with the stream values', async () => {
    await tf.setBackend('cpu');
    const t = new Rng(9).normalTensor([2, 3], 1, 2);
    const r = new Rng(9);
    const want = Array.from({ length: 6 }, () => 1 + 2 * r.normal());
    expect(t.shape).toEqual([2, 3]);
    Array.from(await t.data()).forEach((v, i) => {
      expect(v).toBeCloseTo(want[i]!, 5);
    });
    t.dispose();
  });
});
