import { initBackend, upsample2x } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { finiteDifferences, fixedTensor, worstMismatch } from '../test-utils/grad-check.js';
import { convTransposeOutSize, PaddedUpConv2D, paddedConv2d, paddedConv2dTranspose } from './padded-conv.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** A layer applied to eager tensors only cannot `dispose()` (Keras: "not been used yet"): free its weights. */
const free = (layer: tf.layers.Layer) => {
  for (const v of layer.weights) v.dispose();
};

type Case = { k: number; s: number; p: number; h: number; w: number; op?: number };

/**
 * PyTorch's Conv2d (transpose = false: w [k, k, inC, outC]) or ConvTranspose2d (w [k, k, outC, inC])
 * by their definitions, in float64: the transposed one scatters each input pixel through the kernel
 * onto rows i·s − p + ki; rows past the output (or before it) are dropped.
 */
function reference(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
  c: Case,
  transpose: boolean,
): Float64Array {
  const [n, h, wd, inC] = x.shape;
  const [k, , a, bb] = w.shape;
  const outC = transpose ? a : bb;
  const [oh, ow] = transpose
    ? [convTransposeOutSize(h, k, c.s, c.p, c.op ?? 0), convTransposeOutSize(wd, k, c.s, c.p, c.op ?? 0)]
    : [Math.floor((h + 2 * c.p - k) / c.s) + 1, Math.floor((wd + 2 * c.p - k) / c.s) + 1];
  const xv = x.dataSync();
  const wv = w.dataSync();
  const bv = b.dataSync();
  const y = new Float64Array(n * oh * ow * outC);
  for (let i = 0; i < y.length; i++) y[i] = bv[i % outC]!;
  for (let m = 0; m < n; m++)
    for (let ki = 0; ki < k; ki++)
      for (let kj = 0; kj < k; kj++)
        for (let ci = 0; ci < inC; ci++)
          for (let co = 0; co < outC; co++) {
            const wk = wv[((ki * k + kj) * a + (transpose ? co : ci)) * bb + (transpose ? ci : co)]!;
            if (transpose) {
              for (let i = 0; i < h; i++)
                for (let j = 0; j < wd; j++) {
                  const r = i * c.s - c.p + ki;
                  const q = j * c.s - c.p + kj;
                  if (r < 0 || r >= oh || q < 0 || q >= ow) continue;
                  y[((m * oh + r) * ow + q) * outC + co]! += xv[((m * h + i) * wd + j) * inC + ci]! * wk;
                }
            } else {
              for (let r = 0; r < oh; r++)
                for (let q = 0; q < ow; q++) {
                  const i = r * c.s - c.p + ki;
                  const j = q * c.s - c.p + kj;
                  if (i < 0 || i >= h || j < 0 || j >= wd) continue;
                  y[((m * oh + r) * ow + q) * outC + co]! += xv[((m * h + i) * wd + j) * inC + ci]! * wk;
                }
            }
          }
  return y;
}

/** The layer with weights w, b on x equals `reference`; frees everything. */
function expectDefinition(
  layer: tf.layers.Layer,
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D,
  c: Case,
  transpose: boolean,
): void {
  layer.build(x.shape);
  layer.setWeights([w, b]);
  const y = layer.apply(x) as tf.Tensor;
  expect(y.shape).toEqual(layer.computeOutputShape(x.shape));
  expect(worstMismatch(y.dataSync(), reference(x, w, b, c, transpose), 1e-5, 1e-4)).toBeLessThan(1);
  tf.dispose([x, w, b, y]);
  free(layer);
}

describe('PaddedConv2D (PyTorch Conv2d padding) on core’s kernels', () => {
  for (const c of [
    { k: 3, s: 1, p: 0, h: 6, w: 5 },
    { k: 3, s: 2, p: 1, h: 7, w: 9 },
    { k: 4, s: 2, p: 1, h: 8, w: 10 },
    { k: 7, s: 1, p: 0, h: 9, w: 8 },
    { k: 1, s: 2, p: 0, h: 5, w: 6 },
    { k: 5, s: 2, p: 2, h: 9, w: 7 },
  ]) {
    it(`k${c.k} s${c.s} p${c.p} on ${c.h}×${c.w} equals the definition`, () => {
      const x = fixedTensor([2, c.h, c.w, 3], 1) as tf.Tensor4D;
      const w = fixedTensor([c.k, c.k, 3, 4], 2, 0.3) as tf.Tensor4D;
      const b = fixedTensor([4], 3) as tf.Tensor1D;
      const layer = paddedConv2d({ filters: 4, kernelSize: c.k, strides: c.s, padding: c.p });
      expectDefinition(layer, x, w, b, c, false);
    });
  }

  it('computes no input gradient for an input that needs none', async () => {
    const x = fixedTensor([1, 8, 8, 3], 11) as tf.Tensor4D;
    const layer = paddedConv2d({ filters: 4, kernelSize: 3, padding: 1 });
    layer.build(x.shape);
    const p = await tf.profile(() => {
      const { grads, value } = tf.variableGrads(() => tf.sum(layer.apply(x) as tf.Tensor) as tf.Scalar);
      tf.dispose([value, ...Object.values(grads)]);
    });
    const kernels = p.kernels.map((k) => k.name);
    // The forward conv and the filter gradient; no input gradient (Conv2DBackpropInput).
    expect(kernels.filter((n) => n === 'Conv2D').length).toBe(1);
    expect(kernels).toContain('Conv2DBackpropFilter');
    expect(kernels).not.toContain('Conv2DBackpropInput');
    x.dispose();
    free(layer);
  });
});

describe('PaddedConv2DTranspose (PyTorch ConvTranspose2d) on core’s kernels', () => {
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
    it(`k${c.k} s${c.s} p${c.p} op${c.op} on ${c.h}×${c.w} equals the definition`, () => {
      const x = fixedTensor([2, c.h, c.w, 4], 4) as tf.Tensor4D;
      const w = fixedTensor([c.k, c.k, 3, 4], 5, 0.3) as tf.Tensor4D;
      const b = fixedTensor([3], 6) as tf.Tensor1D;
      const layer = paddedConv2dTranspose({
        filters: 3,
        kernelSize: c.k,
        strides: c.s,
        padding: c.p,
        outputPadding: c.op,
      });
      expectDefinition(layer, x, w, b, c, true);
    });
  }

  it('input and kernel gradients match finite differences', () => {
    const x = fixedTensor([1, 3, 3, 2], 8) as tf.Tensor4D;
    const w = fixedTensor([3, 3, 2, 2], 9, 0.5) as tf.Tensor4D;
    const b = tf.zeros([2]) as tf.Tensor1D;
    const r = fixedTensor([1, 6, 6, 2], 10);
    const layer = paddedConv2dTranspose({
      filters: 2,
      kernelSize: 3,
      strides: 2,
      padding: 1,
      outputPadding: 1,
    });
    layer.build(x.shape);
    layer.setWeights([w, b]);
    const loss = (xx: tf.Tensor) => tf.sum(tf.mul(layer.apply(xx) as tf.Tensor, r)) as tf.Scalar;
    // The loss is linear in x and in w: central differences have no truncation error, only rounding.
    expect(
      worstMismatch(tf.grad(loss)(x).dataSync(), finiteDifferences(loss, x, 0.05), 2e-4, 1e-3),
    ).toBeLessThan(1);
    const { grads, value } = tf.variableGrads(() => loss(x));
    const kernel = layer.getWeights()[0]!;
    const byW = (ww: tf.Tensor) => {
      layer.setWeights([ww, b]);
      return loss(x);
    };
    const numeric = finiteDifferences(byW, w, 0.05);
    const analytic = Object.entries(grads).find(([name]) => name.includes('kernel'))![1];
    expect(analytic.shape).toEqual(kernel.shape);
    expect(worstMismatch(analytic.dataSync(), numeric, 2e-4, 1e-3)).toBeLessThan(1);
    // ∂/∂b_c of Σ y·r is the sum of r's channel c over batch and space.
    const byBias = Object.entries(grads).find(([name]) => name.includes('bias'))![1];
    const rSums = tf.sum(r, [0, 1, 2]);
    expect(worstMismatch(byBias.dataSync(), rSums.dataSync(), 1e-5, 1e-5)).toBeLessThan(1);
    tf.dispose([x, w, b, r, rSums, value, ...Object.values(grads)]);
    free(layer);
  });
});

describe('PaddedUpConv2D (2× upsampling, then Conv2d k3 p1)', () => {
  for (const interpolation of ['nearest', 'bilinear'] as const) {
    // Bilinear's input gradient differs near the border (the ring outside it reads the edge pixels),
    // so only nearest's is compared; the weight gradients of the inside outputs agree for both.
    it(`${interpolation}: the output and weight gradients of upsampling then PaddedConv2D away from the border${interpolation === 'nearest' ? ', and the input gradient' : ''}`, () => {
      const x = fixedTensor([2, 4, 5, 3], 11) as tf.Tensor4D;
      const w = fixedTensor([3, 3, 3, 4], 12, 0.3) as tf.Tensor4D;
      const b = fixedTensor([4], 13) as tf.Tensor1D;
      const r = fixedTensor([2, 8, 10, 4], 14);
      const ours = new PaddedUpConv2D({ filters: 4, kernelSize: 3, interpolation });
      const conv = paddedConv2d({ filters: 4, kernelSize: 3, padding: 1 });
      ours.build(x.shape);
      conv.build([2, 8, 10, 3]);
      ours.setWeights([w, b]);
      conv.setWeights([w, b]);
      // Nearest upsampling of zeros is zeros, so its maps agree everywhere; bilinear's upsampled map
      // extends ¼ of the edge pixel beyond the border where the conv on it pads zeros: compare inside.
      const inside = (t: tf.Tensor) =>
        interpolation === 'nearest' ? t : tf.slice(t as tf.Tensor4D, [0, 1, 1, 0], [2, 6, 8, 4]);
      const paths = [
        (xx: tf.Tensor) => inside(ours.apply(xx) as tf.Tensor),
        (xx: tf.Tensor) => inside(conv.apply(upsample2x(xx as tf.Tensor4D, interpolation)) as tf.Tensor),
      ];
      const [a, c] = paths.map((f) => Array.from(f(x).dataSync()));
      expect(worstMismatch(a!, c!, 1e-5, 1e-5)).toBeLessThan(1);
      const loss = (f: (xx: tf.Tensor) => tf.Tensor) => (xx: tf.Tensor) => tf.sum(tf.mul(f(xx), inside(r)));
      const [dxOurs, dxRef] = paths.map((f) => Array.from(tf.grad(loss(f))(x).dataSync()));
      if (interpolation === 'nearest') expect(worstMismatch(dxOurs!, dxRef!, 1e-4, 1e-4)).toBeLessThan(1);
      const weightGrads = (f: (xx: tf.Tensor) => tf.Tensor, layer: tf.layers.Layer) => {
        const vars = layer.trainableWeights.map((v) => v.read() as tf.Variable);
        const { grads } = tf.variableGrads(() => loss(f)(x) as tf.Scalar, vars);
        return vars.map((v) => Array.from(grads[v.name]!.dataSync()));
      };
      const [gOurs, gRef] = [weightGrads(paths[0]!, ours), weightGrads(paths[1]!, conv)];
      for (let i = 0; i < 2; i++) expect(worstMismatch(gOurs[i]!, gRef[i]!, 1e-4, 1e-4)).toBeLessThan(1);
      expect(ours.computeOutputShape([null, 4, 5, 3])).toEqual([null, 8, 10, 4]);
      free(ours);
      free(conv);
    });
  }
});
