import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferences, fixedTensor, worstMismatch } from '../test-utils/grad-check.js';
import { instanceNorm } from './instance-normalization.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** The textbook formulation with stock tfjs ops (tf.moments), differentiated by tfjs op by op. */
const stockInstanceNorm = (x: tf.Tensor, eps = 1e-5) => {
  const { mean, variance } = tf.moments(x, [1, 2], true);
  return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps)));
};

describe('instanceNorm', () => {
  it('normalizes each image and channel over space (values checked in float64)', () => {
    const shape = [2, 3, 4, 2];
    const x = fixedTensor(shape, 1, 3);
    const xs = x.dataSync();
    const y = instanceNorm(x as tf.Tensor4D).dataSync();
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 2; c++) {
        const idx: number[] = [];
        for (let p = 0; p < 12; p++) idx.push((b * 12 + p) * 2 + c);
        const mean = idx.reduce((s, i) => s + xs[i]!, 0) / 12;
        const variance = idx.reduce((s, i) => s + (xs[i]! - mean) ** 2, 0) / 12;
        for (const i of idx) expect(y[i]!).toBeCloseTo((xs[i]! - mean) / Math.sqrt(variance + 1e-5), 5);
      }
    x.dispose();
  });

  it('gradient matches finite differences', () => {
    tf.tidy(() => {
      // Tiny input; σ ≈ 0.6 keeps the third derivative (the h² error term) small at h = 1e-2.
      const x = fixedTensor([2, 3, 3, 2], 5);
      const r = fixedTensor([2, 3, 3, 2], 6);
      const f = (xx: tf.Tensor) => tf.sum(tf.mul(instanceNorm(xx as tf.Tensor4D), r)) as tf.Scalar;
      const analytic = tf.grad(f)(x).dataSync();
      const numeric = finiteDifferences(f, x, 1e-2);
      // float32: f ≈ O(5), rounding ≈ 6e-8·5/1e-2 ≈ 3e-5 per difference; truncation ≈ h²·f''' ≈ 1e-3.
      expect(worstMismatch(analytic, numeric, 3e-3, 1e-2)).toBeLessThan(1);
    });
  });

  it('gradient matches tfjs’ op-by-op gradient of the tf.moments formulation', () => {
    tf.tidy(() => {
      const x = fixedTensor([2, 8, 6, 5], 7, 2);
      const r = fixedTensor([2, 8, 6, 5], 8);
      const ours = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(instanceNorm(xx as tf.Tensor4D), r)))(x);
      const stock = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(stockInstanceNorm(xx), r)))(x);
      expect(worstMismatch(ours.dataSync(), stock.dataSync(), 1e-4, 1e-3)).toBeLessThan(1);
      expect(
        worstMismatch(instanceNorm(x as tf.Tensor4D).dataSync(), stockInstanceNorm(x).dataSync(), 1e-5, 1e-4),
      ).toBeLessThan(1);
    });
  });

  it('keeps only its output and the per-channel scale for backprop', () => {
    const x = fixedTensor([1, 16, 16, 4], 9);
    const before = tf.memory().numBytes;
    let bytes = 0;
    const g = tf.grad((xx: tf.Tensor) => {
      const y = instanceNorm(xx as tf.Tensor4D);
      bytes = tf.memory().numBytes - before;
      return tf.sum(y) as tf.Scalar;
    })(x);
    // tf.memory() counts each tensor, clones included: y, the saved clone of y (same data) and the
    // saved rstd (4 floats). The op-by-op formulation keeps at least three full-size tensors.
    expect(bytes).toBe(2 * x.size * 4 + 4 * 4);
    tf.dispose([x, g]);
  });
});
