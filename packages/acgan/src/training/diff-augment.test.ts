import { initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cutoutSize, diffAugment, maxShift } from './diff-augment.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** One bright pixel per image at (r, c), everything else 0. */
function dots(n: number, size: number, r: number, c: number): tf.Tensor4D {
  const v = new Float32Array(n * size * size * 3);
  for (let b = 0; b < n; b++) v.fill(1, ((b * size + r) * size + c) * 3, ((b * size + r) * size + c) * 3 + 3);
  return tf.tensor4d(v, [n, size, size, 3]);
}

describe('DiffAugment', () => {
  it('translation moves each image by an integer shift of at most size/8, filling with zeros', () => {
    const size = 16;
    const n = 32;
    const x = dots(n, size, 8, 8);
    const y = diffAugment(x, ['translation'], new Rng(1));
    const v = y.arraySync() as number[][][][];
    const shifts = new Set<string>();
    for (let b = 0; b < n; b++) {
      const lit: [number, number][] = [];
      v[b]!.forEach((row, i) => {
        row.forEach((px, j) => {
          if (px[0] === 1) lit.push([i, j]);
        });
      });
      expect(lit.length).toBe(1); // shifted, not smeared; the dot stays inside (|shift| ≤ 2 < 8)
      const [i, j] = lit[0]!;
      expect(Math.abs(i - 8)).toBeLessThanOrEqual(maxShift(size));
      expect(Math.abs(j - 8)).toBeLessThanOrEqual(maxShift(size));
      shifts.add(`${i},${j}`);
      expect(v[b]!.flat(2).reduce((s, e) => s + e, 0)).toBe(3);
    }
    expect(maxShift(size)).toBe(2);
    expect(shifts.size).toBeGreaterThan(5);
    tf.dispose([x, y]);
  });

  it('translation drops what moves out and brings in zeros at the border', () => {
    const x = tf.ones([64, 8, 8, 1]) as tf.Tensor4D;
    const y = diffAugment(x, ['translation'], new Rng(2));
    const sums = tf.sum(y, [1, 2, 3]).dataSync();
    // shift ≤ 1 pixel on 8×8: 64, 56 (one axis) or 49 (both) ones remain.
    expect(new Set(sums).size).toBeGreaterThan(1);
    for (const s of sums) expect([64, 56, 49]).toContain(s);
    tf.dispose([x, y]);
  });

  it('cutout zeroes one square of half the side (clipped at the border) and nothing else', () => {
    const size = 16;
    const x = tf.ones([32, size, size, 3]) as tf.Tensor4D;
    const y = diffAugment(x, ['cutout'], new Rng(3));
    const v = y.arraySync() as number[][][][];
    const side = cutoutSize(size);
    expect(side).toBe(8);
    for (const img of v) {
      const zeroRows = new Set<number>();
      const zeroCols = new Set<number>();
      let zeros = 0;
      img.forEach((row, i) => {
        row.forEach((px, j) => {
          if (px[0] === 0) {
            zeros++;
            zeroRows.add(i);
            zeroCols.add(j);
          }
        });
      });
      expect(zeros).toBe(zeroRows.size * zeroCols.size); // a rectangle
      expect(zeroRows.size).toBeLessThanOrEqual(side);
      expect(zeroRows.size).toBeGreaterThanOrEqual(side / 2);
      expect(zeroCols.size).toBeGreaterThanOrEqual(side / 2);
    }
    tf.dispose([x, y]);
  });

  it('color changes brightness, saturation and contrast per image within the reference ranges', () => {
    const x = tf.tidy(() =>
      tf.concat([tf.fill([8, 4, 4, 1], 0.2), tf.fill([8, 4, 4, 1], -0.2), tf.fill([8, 4, 4, 1], 0)], 3),
    ) as tf.Tensor4D;
    const y = diffAugment(x, ['color'], new Rng(4));
    const means = tf.mean(y, [1, 2, 3]).dataSync();
    // Brightness adds U(−0.5, 0.5); saturation and contrast keep the image mean.
    for (const m of means) expect(Math.abs(m)).toBeLessThanOrEqual(0.5);
    expect(new Set(Array.from(means, (m) => m.toFixed(4))).size).toBe(8);
    tf.dispose([x, y]);
  });

  it('is reproducible from the stream, whatever the order policies are listed in, and differentiable', () => {
    const x = new Rng(5).normalTensor<tf.Rank.R4>([4, 8, 8, 3]);
    const a = diffAugment(x, ['color', 'translation', 'cutout'], new Rng(6));
    const b = diffAugment(x, ['cutout', 'color', 'translation'], new Rng(6));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBe(0);
    // cutout alone is x · mask, so d(sum)/dx is the mask.
    const rngState = new Rng(7);
    const mask = diffAugment(tf.ones([4, 8, 8, 3]) as tf.Tensor4D, ['cutout'], new Rng(7));
    const g = tf.grad((xx: tf.Tensor) => tf.sum(diffAugment(xx as tf.Tensor4D, ['cutout'], rngState)))(x);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(g, mask))).dataSync()[0])).toBe(0);
    tf.dispose([x, a, b, mask, g]);
  });

  it('returns the input untouched with no policies', () => {
    const x = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
    expect(diffAugment(x, [], new Rng(1))).toBe(x);
    x.dispose();
  });
});
