import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, loadModel, Rng, saveModel } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  finiteDifferences,
  fixedTensor,
  worstMismatch,
} from '../../../cyclegan/src/test-utils/grad-check.js';
import { resolveAcganConfig } from '../config.js';
import { buildDiscriminator } from '../models/discriminator.js';
import { colourDataset, memorySource } from '../test-utils/memory-source.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { AcganTrainer } from '../training/trainer.js';
import { Conv2D } from './conv2d.js';
import { Dense } from './dense.js';
import { registerAcganLayers } from './register.js';
import { powerIterateAll } from './spectral-norm.js';

const tmp = mkdtempSync(join(tmpdir(), 'acgan-sn-'));
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  registerAcganLayers();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Matrix = number[][];

/** The number of values in a set of weights. */
const size = (ws: tf.LayerVariable[]) =>
  ws.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 0), 1), 0);

/** A kernel as the matrix [fan-in, out], in float64. */
function asMatrix(kernel: tf.Tensor): Matrix {
  const out = kernel.shape[kernel.rank - 1]!;
  const v = Array.from(kernel.dataSync());
  return Array.from({ length: v.length / out }, (_, r) => v.slice(r * out, (r + 1) * out));
}

/** Largest singular value: the power method on MᵀM, in plain float64 JS, to convergence. */
function largestSingularValue(m: Matrix): number {
  const cols = m[0]!.length;
  let x = Array.from({ length: cols }, (_, i) => 1 + i / cols);
  let lambda = 0;
  for (let it = 0; it < 5000; it++) {
    const mx = m.map((row) => row.reduce((s, a, j) => s + a * x[j]!, 0));
    const y = Array.from({ length: cols }, (_, j) => m.reduce((s, row, r) => s + row[j]! * mx[r]!, 0));
    const norm = Math.hypot(...y);
    x = y.map((e) => e / norm);
    if (Math.abs(norm - lambda) < 1e-15 * norm) break;
    lambda = norm;
  }
  return Math.sqrt(lambda);
}

const normalize = (x: number[]) => {
  const n = Math.max(Math.hypot(...x), 1e-12);
  return x.map((e) => e / n);
};

describe('spectral normalisation', () => {
  it.each([
    ['Conv2D', [3, 3, 2, 4]],
    ['Dense', [12, 5]],
  ] as const)(
    '%s: the power iteration finds σ, and the normalised kernel has largest singular value 1',
    (kind, shape) => {
      const layer =
        kind === 'Conv2D'
          ? new Conv2D({ filters: 4, kernelSize: 3, spectralNorm: true })
          : new Dense({ units: 5, spectralNorm: true });
      const x = kind === 'Conv2D' ? fixedTensor([2, 5, 5, 2], 1) : fixedTensor([2, 12], 1);
      tf.dispose(layer.apply(x) as tf.Tensor); // builds the weights
      const kernel = fixedTensor([...shape], 2, 0.7);
      const bias = fixedTensor([shape[shape.length - 1]!], 3);
      // u and v from a fixed draw, not the layer's unseeded initializer: 50 steps from a random start
      // reached σ within 6e-4 in one CI run, within 1e-4 in the others.
      const [u, v] = layer.getWeights().slice(2);
      const start = [fixedTensor(u!.shape, 8), fixedTensor(v!.shape, 9)];
      layer.setWeights([kernel, bias, ...start]);
      tf.dispose(start);
      const sigma = largestSingularValue(asMatrix(kernel));
      expect(sigma).toBeGreaterThan(1.5); // far from 1: the normalisation has work to do

      for (let i = 0; i < 300; i++) layer.powerIterate();
      const estimate = layer.sn!.sigma(kernel);
      expect(Math.abs(estimate.dataSync()[0]! - sigma) / sigma).toBeLessThan(1e-4);
      const normalised = layer.sn!.normalize(kernel);
      expect(Math.abs(largestSingularValue(asMatrix(normalised)) - 1)).toBeLessThan(1e-4);
      // The layer computes with W / σ: compare with the stock op on the plain-JS σ.
      const y = layer.apply(x) as tf.Tensor;
      const w = tf.div(kernel, sigma);
      const want =
        kind === 'Conv2D'
          ? tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), bias)
          : tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), bias);
      expect(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0]).toBeLessThan(1e-4);
      tf.dispose([x, kernel, bias, estimate, normalised, y, w, want]);
      layer.dispose();
    },
  );

  it('gradients through W / σ(W) (u, v fixed) match finite differences', () => {
    const layer = new Conv2D({ filters: 3, kernelSize: 3, spectralNorm: true });
    const x = fixedTensor([1, 4, 4, 2], 4) as tf.Tensor4D;
    tf.dispose(layer.apply(x) as tf.Tensor);
    const kernel = fixedTensor([3, 3, 2, 3], 5, 0.5);
    const [, bias, u, v] = layer.getWeights();
    layer.setWeights([kernel, bias!, u!, v!]);
    layer.powerIterate();
    const r = fixedTensor([1, 4, 4, 3], 6);
    const loss = () => tf.sum(tf.mul(layer.apply(x) as tf.Tensor, r)) as tf.Scalar;
    const auto = tf.variableGrads(loss, [layer.trainableWeights[0]!.read() as tf.Variable]);
    const [, b1, u1, v1] = layer.getWeights();
    const numeric = finiteDifferences((k) => {
      layer.setWeights([k, b1!, u1!, v1!]);
      return loss();
    }, kernel);
    const analytic = Object.values(auto.grads)[0]!.dataSync();
    expect(worstMismatch(analytic, numeric, 1e-3, 1e-2)).toBeLessThan(1);
    tf.dispose([x, kernel, r, auto.value, ...Object.values(auto.grads)]);
    layer.dispose();
  });

  it('on D: every conv and both heads, the same trainable parameters, u and v as non-trainable weights', () => {
    // The reference D (no projection matrix, which spectral norm would normalise too).
    const off = resolveAcganConfig({ preset: 'cpu', overrides: { discriminator: { projection: false } } });
    const on = resolveAcganConfig({
      preset: 'cpu',
      overrides: { discriminator: { projection: false, spectralNorm: true } },
    });
    const [dOff, dOn] = [buildDiscriminator(off, new Rng(1)), buildDiscriminator(on, new Rng(1))];
    expect(size(dOn.trainableWeights)).toBe(size(dOff.trainableWeights));
    // u (out) + v (fan-in) per layer: convs 4·4·{3, 32, 64, 128} → {32, 64, 128, 256}, heads 4096 → {1, 8}.
    const sn =
      [
        [48, 32],
        [512, 64],
        [1024, 128],
        [2048, 256],
      ].reduce((s, [a, b]) => s + a! + b!, 0) +
      (4096 + 1) +
      (4096 + 8);
    expect(size(dOn.nonTrainableWeights) - size(dOff.nonTrainableWeights)).toBe(sn);
    expect(powerIterateAll(dOn)).toBe(6);
    expect(powerIterateAll(dOff)).toBe(0);
    dOff.dispose();
    dOn.dispose();
  });

  it('the trainer runs exactly one power iteration per step, on the weights before the step', async () => {
    const data = colourDataset(
      [
        [1, -1, -1],
        [-1, 1, -1],
        [-1, -1, 1],
        [1, 1, -1],
      ],
      4,
      16,
    );
    const config = tinyConfig({ discriminator: { spectralNorm: true } });
    const trainer = await AcganTrainer.create({ config });
    const conv = trainer.discriminator.getLayer('conv2') as Conv2D;
    const [kernel, , u] = conv.getWeights().map((w) => Array.from(w.dataSync()));
    const m = asMatrix(conv.getWeights()[0]!);
    expect(kernel!.length).toBe(m.length * m[0]!.length);
    const v1 = normalize(m.map((row) => row.reduce((s, a, j) => s + a * u![j]!, 0)));
    const u1 = normalize(m[0]!.map((_, j) => m.reduce((s, row, r) => s + row[j]! * v1[r]!, 0)));
    const batch = (
      await memorySource(data.images, data.labels, { batchSize: 8 }).epoch(0)[Symbol.asyncIterator]().next()
    ).value!;
    await trainer.trainStep(batch.images, batch.labels);
    const [, , uAfter, vAfter] = conv.getWeights().map((w) => Array.from(w.dataSync()));
    expect(worstMismatch(uAfter!, u1, 1e-6, 1e-5)).toBeLessThan(1);
    expect(worstMismatch(vAfter!, v1, 1e-6, 1e-5)).toBeLessThan(1);
    tf.dispose([batch.images, batch.labels, data.images]);
    trainer.dispose();
  });

  it('a saved D loads with its u and v, computing the same logits', async () => {
    const config = tinyConfig({ discriminator: { spectralNorm: true, dropout: 0 } });
    const d = buildDiscriminator(config, new Rng(3));
    for (let i = 0; i < 3; i++) powerIterateAll(d);
    await saveModel(d, join(tmp, 'd'));
    const loaded = await loadModel(join(tmp, 'd'));
    expect(loaded.getLayer('adversarial')).toBeInstanceOf(Dense);
    expect((loaded.getLayer('conv1') as Conv2D).spectralNorm).toBe(true);
    const x = fixedTensor([2, 16, 16, 3], 9);
    const [a, b] = [d.predict(x) as tf.Tensor[], loaded.predict(x) as tf.Tensor[]];
    for (const [i, t] of a.entries()) expect(tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]).toBe(0);
    const sn = (m: tf.LayersModel) => m.getLayer('conv2').getWeights()[2]!.dataSync();
    expect(Array.from(sn(loaded))).toEqual(Array.from(sn(d)));
    tf.dispose([x, ...a, ...b]);
    d.dispose();
    loaded.dispose();
  });
});
