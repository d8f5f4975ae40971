import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferences, fixedTensor, worstMismatch } from '../test-utils/grad-check.js';
import { reflectPad } from './reflection-padding.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** Index of the input row a reflect-padded row copies (PyTorch ReflectionPad2d). */
function source(i: number, n: number, pad: number): number {
  const j = i - pad;
  if (j < 0) return -j;
  if (j >= n) return 2 * (n - 1) - j;
  return j;
}

/** d/dx Σ pad(x)·r, by hand: each output element adds its r onto the input element it copies. */
function handGradient(r: Float32Array, [n, h, w, c]: number[], pad: number): Float32Array {
  const H = h! + 2 * pad;
  const W = w! + 2 * pad;
  const g = new Float32Array(n! * h! * w! * c!);
  for (let b = 0; b < n!; b++)
    for (let i = 0; i < H; i++)
      for (let j = 0; j < W; j++)
        for (let k = 0; k < c!; k++) {
          const si = source(i, h!, pad);
          const sj = source(j, w!, pad);
          g[((b * h! + si) * w! + sj) * c! + k]! += r[((b * H + i) * W + j) * c! + k]!;
        }
  return g;
}

describe('reflectPad', () => {
  for (const [h, w, pad] of [
    [5, 6, 1],
    [6, 5, 2],
    [8, 8, 3],
    [4, 5, 3], // the two mirrored bands overlap
    [2, 3, 1],
  ] as const) {
    it(`pads ${h}×${w} by ${pad} like mirrorPad and folds the gradient back (hand-computed)`, () => {
      tf.tidy(() => {
        const shape = [2, h, w, 3];
        const x = fixedTensor(shape, 1) as tf.Tensor4D;
        const y = reflectPad(x, pad);
        const stock = tf.mirrorPad(
          x,
          [
            [0, 0],
            [pad, pad],
            [pad, pad],
            [0, 0],
          ],
          'reflect',
        );
        expect(y.shape).toEqual([2, h + 2 * pad, w + 2 * pad, 3]);
        expect(Array.from(y.dataSync())).toEqual(Array.from(stock.dataSync()));
        const r = fixedTensor(y.shape, 2);
        const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(reflectPad(xx as tf.Tensor4D, pad), r)))(x);
        expect(
          worstMismatch(g.dataSync(), handGradient(r.dataSync() as Float32Array, shape, pad), 1e-6, 1e-6),
        ).toBeLessThan(1);
      });
    });
  }

  it('gradient matches finite differences (tfjs’ own MirrorPad gradient does not)', () => {
    tf.tidy(() => {
      const x = fixedTensor([1, 3, 4, 2], 3);
      const r = fixedTensor([1, 7, 8, 2], 4);
      const f = (xx: tf.Tensor) => tf.sum(tf.mul(reflectPad(xx as tf.Tensor4D, 2), r)) as tf.Scalar;
      const numeric = finiteDifferences(f, x, 0.05);
      expect(worstMismatch(tf.grad(f)(x).dataSync(), numeric, 1e-4, 1e-3)).toBeLessThan(1);
      const stockF = (xx: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.mirrorPad(
              xx,
              [
                [0, 0],
                [2, 2],
                [2, 2],
                [0, 0],
              ],
              'reflect',
            ),
            r,
          ),
        ) as tf.Scalar;
      expect(worstMismatch(tf.grad(stockF)(x).dataSync(), numeric, 1e-4, 1e-3)).toBeGreaterThan(1);
    });
  });

  it('refuses a padding as large as the image', () => {
    const x = tf.zeros([1, 3, 3, 1]) as tf.Tensor4D;
    expect(() => reflectPad(x, 3)).toThrow(/spatial size > 3/);
    x.dispose();
  });
});
