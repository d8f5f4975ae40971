import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferences, fixedTensor, worstMismatch } from '../test-utils/grad-check.js';
import { conv2d, conv2dTranspose, convTransposeOutSize } from './conv.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

const pads = (p: number): [[number, number], [number, number], [number, number], [number, number]] => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];

/** Our op and tfjs' stock op (whose gradients use the stock kernels) on the same loss. */
function compare(
  ours: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor,
  stock: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor,
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
) {
  return tf.tidy(() => {
    const yOurs = ours(x, w, b);
    const yStock = stock(x, w, b);
    expect(yOurs.shape).toEqual(yStock.shape);
    const r = fixedTensor(yStock.shape, 7);
    const loss = (f: typeof ours) => (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(f(xx as tf.Tensor4D, ww as tf.Tensor4D, bb as tf.Tensor1D), r));
    const gOurs = tf.grads(loss(ours))([x, w, b]);
    const gStock = tf.grads(loss(stock))([x, w, b]);
    return {
      forward: worstMismatch(yOurs.dataSync(), yStock.dataSync(), 1e-5, 1e-4),
      grads: gOurs.map((g, i) => worstMismatch(g.dataSync(), gStock[i]!.dataSync(), 1e-4, 1e-4)),
    };
  });
}

describe('conv2d (PyTorch padding, gradients from forward convolutions)', () => {
  const cases = [
    { k: 3, s: 1, p: 0, h: 6, w: 5 },
    { k: 3, s: 2, p: 1, h: 8, w: 8 },
    { k: 3, s: 2, p: 1, h: 7, w: 9 },
    { k: 4, s: 2, p: 1, h: 8, w: 10 },
    { k: 4, s: 1, p: 1, h: 6, w: 6 },
    { k: 7, s: 1, p: 0, h: 9, w: 8 },
    { k: 1, s: 2, p: 0, h: 5, w: 6 }, // a phase without taps
    { k: 3, s: 3, p: 1, h: 7, w: 8 },
    { k: 5, s: 2, p: 2, h: 9, w: 7 },
  ];
  for (const c of cases) {
    it(`k${c.k} s${c.s} p${c.p} on ${c.h}×${c.w} matches tf.conv2d and its stock gradients`, () => {
      const x = fixedTensor([2, c.h, c.w, 3], 1) as tf.Tensor4D;
      const w = fixedTensor([c.k, c.k, 3, 4], 2, 0.3) as tf.Tensor4D;
      const b = fixedTensor([4], 3) as tf.Tensor1D;
      const r = compare(
        (xx, ww, bb) => conv2d(xx, ww, bb, c.s, c.p),
        (xx, ww, bb) => tf.add(tf.conv2d(xx, ww, c.s, pads(c.p)), bb),
        x,
        w,
        b,
      );
      expect(r.forward).toBeLessThan(1);
      for (const g of r.grads) expect(g).toBeLessThan(1);
      tf.dispose([x, w, b]);
    });
  }
});

describe('conv2dTranspose (PyTorch ConvTranspose2d semantics)', () => {
  it('k3 s2 p1 op1 doubles the size, as PyTorch does', () => {
    expect(convTransposeOutSize(16, 3, 2, 1, 1)).toBe(32);
    expect(convTransposeOutSize(5, 3, 2, 1, 1)).toBe(10);
  });

  for (const c of [
    { k: 3, s: 2, p: 1, op: 1, h: 4, w: 5 },
    { k: 3, s: 2, p: 1, op: 0, h: 4, w: 4 },
    { k: 4, s: 2, p: 1, op: 0, h: 3, w: 4 },
    { k: 3, s: 1, p: 1, op: 0, h: 5, w: 4 },
  ]) {
    it(`k${c.k} s${c.s} p${c.p} op${c.op} matches tf.conv2dTranspose and its stock gradients`, () => {
      const x = fixedTensor([2, c.h, c.w, 4], 4) as tf.Tensor4D;
      const w = fixedTensor([c.k, c.k, 3, 4], 5, 0.3) as tf.Tensor4D;
      const b = fixedTensor([3], 6) as tf.Tensor1D;
      const outH = convTransposeOutSize(c.h, c.k, c.s, c.p, c.op);
      const outW = convTransposeOutSize(c.w, c.k, c.s, c.p, c.op);
      const r = compare(
        (xx, ww, bb) => conv2dTranspose(xx, ww, bb, c.s, c.p, c.op),
        // tfjs' conv2dTranspose with a numeric pad is the adjoint of conv2d with that pad on every side.
        (xx, ww, bb) => tf.add(tf.conv2dTranspose(xx, ww, [2, outH, outW, 3], c.s, c.p), bb),
        x,
        w,
        b,
      );
      expect(r.forward).toBeLessThan(1);
      for (const g of r.grads) expect(g).toBeLessThan(1);
      tf.dispose([x, w, b]);
    });
  }

  it('gradients match finite differences', () => {
    const x = fixedTensor([1, 3, 3, 2], 8) as tf.Tensor4D;
    const w = fixedTensor([3, 3, 2, 2], 9, 0.5) as tf.Tensor4D;
    const r = fixedTensor([1, 6, 6, 2], 10);
    const f = (xx: tf.Tensor) =>
      tf.sum(tf.mul(conv2dTranspose(xx as tf.Tensor4D, w, null, 2, 1, 1), r)) as tf.Scalar;
    const analytic = tf.grad(f)(x).dataSync();
    // The loss is linear in x: central differences have no truncation error, only rounding.
    const numeric = finiteDifferences(f, x, 0.05);
    expect(worstMismatch(analytic, numeric, 2e-4, 1e-3)).toBeLessThan(1);
    tf.dispose([x, w, r]);
  });

  it('computes no input gradient for an input that needs none', () => {
    const x = fixedTensor([1, 8, 8, 3], 11) as tf.Tensor4D;
    const w = tf.variable(fixedTensor([3, 3, 3, 4], 12, 0.3) as tf.Tensor4D);
    const kernels: string[] = [];
    return tf
      .profile(() => {
        const { grads, value } = tf.variableGrads(() => tf.sum(conv2d(x, w, null, 1, 1)), [w]);
        tf.dispose([value, ...Object.values(grads)]);
      })
      .then((p) => {
        for (const k of p.kernels) kernels.push(k.name);
        // Only the forward conv; the filter gradient runs as Conv2DBackpropFilter, no input gradient conv.
        expect(kernels.filter((n) => n === 'Conv2D').length).toBe(1);
        expect(kernels).toContain('Conv2DBackpropFilter');
        expect(kernels).not.toContain('Conv2DBackpropInput');
        tf.dispose([x, w]);
      });
  });
});
