import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, loadModel, Rng, saveModel, upsample2x } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedTensor, worstMismatch } from '../../../cyclegan/src/test-utils/grad-check.js';
import { BatchNorm } from './batch-norm.js';
import { Conv2D } from './conv2d.js';
import { NearestUpConv2D } from './nearest-up-conv.js';
import { registerAcganLayers } from './register.js';
import { SeededDropout } from './seeded-dropout.js';

const tmp = mkdtempSync(join(tmpdir(), 'acgan-layers-'));
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  registerAcganLayers();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Batch norm in training mode from plain ops, differentiated by tfjs' autodiff. */
function referenceBatchNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

describe('BatchNorm', () => {
  it('normalizes like the textbook formula and its gradients match autodiff of it', () => {
    const rng = new Rng(3);
    const layer = new BatchNorm({ name: 'bn' });
    const x = rng.normalTensor<tf.Rank.R4>([3, 4, 5, 6], 0.5, 2);
    const w = rng.normalTensor<tf.Rank.R4>([3, 4, 5, 6]);
    layer.apply(tf.zeros([1, 4, 5, 6]), { training: false }); // builds the weights
    const gammaInit = rng.normalTensor([6], 1, 0.3);
    const betaInit = rng.normalTensor([6], 0, 0.3);
    layer.setWeights([gammaInit, betaInit, tf.zeros([6]), tf.ones([6])]);
    const [gammaVar, betaVar] = layer.trainableWeights.map((v) => v.read() as tf.Variable);

    const ours = tf.variableGrads(
      () => tf.sum(tf.mul(layer.apply(x, { training: true }) as tf.Tensor, w)) as tf.Scalar,
      [gammaVar!, betaVar!],
    );
    const ourDx = tf.grad((xx: tf.Tensor) =>
      tf.sum(tf.mul(layer.apply(xx, { training: true }) as tf.Tensor, w)),
    )(x);
    const [refDx, refDg, refDb] = tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(referenceBatchNorm(xx as tf.Tensor4D, g, b, 1e-5), w)),
    )([x, gammaInit, betaInit]);
    const y = layer.apply(x, { training: true }) as tf.Tensor;
    const yRef = referenceBatchNorm(x, gammaInit, betaInit, 1e-5);
    expect(maxDiff(y, yRef)).toBeLessThan(1e-5);
    expect(maxDiff(ourDx, refDx!)).toBeLessThan(1e-4);
    expect(maxDiff(ours.grads[gammaVar!.name]!, refDg!)).toBeLessThan(1e-3);
    expect(maxDiff(ours.grads[betaVar!.name]!, refDb!)).toBeLessThan(1e-4);
    tf.dispose([
      x,
      w,
      gammaInit,
      betaInit,
      ourDx,
      refDx!,
      refDg!,
      refDb!,
      y,
      yRef,
      ours.value,
      ...Object.values(ours.grads),
    ]);
    layer.dispose();
  });

  it('keeps running statistics the PyTorch way and uses them for inference', () => {
    const layer = new BatchNorm({ name: 'bn2', momentum: 0.1, epsilon: 1e-5 });
    // One channel; batch values 1..8: mean 4.5, biased var 5.25, unbiased var 6.
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    tf.dispose(layer.apply(x, { training: true }) as tf.Tensor);
    const [, , movingMean, movingVar] = layer.getWeights();
    expect(movingMean!.dataSync()[0]).toBeCloseTo(0.45, 6);
    expect(movingVar!.dataSync()[0]).toBeCloseTo(0.9 * 1 + 0.1 * 6, 5);
    const y = layer.apply(tf.tensor4d([0.45], [1, 1, 1, 1]), { training: false }) as tf.Tensor;
    expect(y.dataSync()[0]).toBeCloseTo(0, 5);
    tf.dispose([x, y]);
    layer.dispose();
  });

  it('leaves no tensors behind in a training step', () => {
    const layer = new BatchNorm({ name: 'bn3' });
    const x = tf.ones([2, 3, 3, 4]);
    tf.dispose(tf.grad((xx: tf.Tensor) => tf.sum(layer.apply(xx, { training: true }) as tf.Tensor))(x));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      tf.dispose(tf.grad((xx: tf.Tensor) => tf.sum(layer.apply(xx, { training: true }) as tf.Tensor))(x));
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    layer.dispose();
  });
});

describe('SeededDropout', () => {
  it('draws its masks from the attached stream: reproducible, fresh at every call, inverted scaling', () => {
    const layerA = new SeededDropout({ rate: 0.25 });
    const layerB = new SeededDropout({ rate: 0.25 });
    layerA.rng = new Rng(9);
    layerB.rng = new Rng(9);
    const x = tf.ones([4, 16, 16, 8]);
    const a1 = layerA.apply(x, { training: true }) as tf.Tensor;
    const a2 = layerA.apply(x, { training: true }) as tf.Tensor;
    const b1 = layerB.apply(x, { training: true }) as tf.Tensor;
    expect(maxDiff(a1, b1)).toBe(0);
    expect(maxDiff(a1, a2)).toBeGreaterThan(0);
    const v = a1.dataSync();
    const zeros = v.filter((e) => e === 0).length / v.length;
    expect(zeros).toBeGreaterThan(0.22);
    expect(zeros).toBeLessThan(0.28);
    expect(new Set(v)).toEqual(new Set([0, Math.fround(1 / 0.75)]));
    const inference = layerA.apply(x, { training: false }) as tf.Tensor;
    expect(maxDiff(inference, x)).toBe(0);
    tf.dispose([x, a1, a2, b1, inference]);
  });
});

describe('Conv2D', () => {
  it('computes what tf.layers.conv2d computes, with the same weight shapes, and its gradients', () => {
    const rng = new Rng(4);
    const x = rng.normalTensor<tf.Rank.R4>([2, 7, 7, 3]);
    const ours = new Conv2D({
      filters: 5,
      kernelSize: 4,
      strides: 2,
      kernelInitializer: tf.initializers.randomNormal({ seed: 1 }),
    });
    const theirs = tf.layers.conv2d({ filters: 5, kernelSize: 4, strides: 2, padding: 'same' });
    const y0 = ours.apply(x) as tf.Tensor;
    theirs.apply(x);
    expect(ours.getWeights().map((w) => w.shape)).toEqual([[4, 4, 3, 5], [5]]);
    const bias = rng.normalTensor([5]);
    ours.setWeights([ours.getWeights()[0]!, bias]);
    theirs.setWeights(ours.getWeights());
    const y1 = ours.apply(x) as tf.Tensor;
    const y2 = theirs.apply(x) as tf.Tensor;
    expect(y1.shape).toEqual([2, 4, 4, 5]);
    expect(maxDiff(y1, y2)).toBeLessThan(1e-5);
    const w = rng.normalTensor(y1.shape);
    const loss = (layer: tf.layers.Layer) => () =>
      tf.sum(tf.mul(layer.apply(x) as tf.Tensor, w)) as tf.Scalar;
    const g1 = tf.variableGrads(
      loss(ours),
      ours.trainableWeights.map((v) => v.read() as tf.Variable),
    );
    const g2 = tf.variableGrads(
      loss(theirs),
      theirs.trainableWeights.map((v) => v.read() as tf.Variable),
    );
    const [k1, b1] = Object.values(g1.grads);
    const [k2, b2] = Object.values(g2.grads);
    expect(maxDiff(k1!, k2!)).toBeLessThan(1e-4);
    expect(maxDiff(b1!, b2!)).toBeLessThan(1e-4);
    tf.dispose([
      x,
      y0,
      y1,
      y2,
      w,
      bias,
      g1.value,
      g2.value,
      ...Object.values(g1.grads),
      ...Object.values(g2.grads),
    ]);
  });
});

describe('NearestUpConv2D', () => {
  it.each([1, 2, 3, 4, 5].flatMap((k) => [[k, 'nearest'] as const, [k, 'bilinear'] as const]))(
    'k = %i, %s: the same output and gradients (input, kernel, bias) as upsample2x then Conv2D',
    (k, interpolation) => {
      const x = fixedTensor([2, 3, 5, 3], 1) as tf.Tensor4D;
      const w = fixedTensor([k, k, 3, 4], 2) as tf.Tensor4D;
      const b = fixedTensor([4], 3) as tf.Tensor1D;
      const ours = new NearestUpConv2D({ filters: 4, kernelSize: k, interpolation });
      const reference = new Conv2D({ filters: 4, kernelSize: k });
      // The upsampled map extends beyond the edges by the interpolation (¼ of the edge pixel for
      // bilinear), not by the conv's zeros: upsample a zero-padded input, convolve, crop.
      const up = (xx: tf.Tensor) =>
        tf.slice(
          reference.apply(
            upsample2x(
              tf.pad(xx as tf.Tensor4D, [
                [0, 0],
                [1, 1],
                [1, 1],
                [0, 0],
              ]),
              interpolation,
            ),
          ) as tf.Tensor4D,
          [0, 2, 2, 0],
          [2, 6, 10, 4],
        );
      tf.dispose([ours.apply(x) as tf.Tensor, up(x)]);
      ours.setWeights([w, b]);
      reference.setWeights([w, b]);
      const r = fixedTensor([2, 6, 10, 4], 4);
      const paths = {
        ours: (xx: tf.Tensor) => ours.apply(xx) as tf.Tensor,
        reference: up,
      };
      const run = (f: (xx: tf.Tensor) => tf.Tensor, layer: tf.layers.Layer) => {
        const y = f(x);
        const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx), r)))(x);
        const g = tf.variableGrads(
          () => tf.sum(tf.mul(f(x), r)) as tf.Scalar,
          layer.trainableWeights.map((v) => v.read() as tf.Variable),
        );
        return { y, dx, dw: Object.values(g.grads), value: g.value };
      };
      const a = run(paths.ours, ours);
      const e = run(paths.reference, reference);
      expect(a.y.shape).toEqual([2, 6, 10, 4]);
      expect(worstMismatch(a.y.dataSync(), e.y.dataSync(), 1e-5, 1e-4)).toBeLessThan(1);
      expect(worstMismatch(a.dx.dataSync(), e.dx.dataSync(), 1e-4, 1e-4)).toBeLessThan(1);
      for (const [i, dw] of a.dw.entries())
        expect(worstMismatch(dw.dataSync(), e.dw[i]!.dataSync(), 1e-4, 1e-4)).toBeLessThan(1);
      tf.dispose([x, w, b, r, a.y, a.dx, a.value, e.y, e.dx, e.value, ...a.dw, ...e.dw]);
      ours.dispose();
      reference.dispose();
    },
  );
});

describe('saved models with the custom layers', () => {
  it('load back with the same outputs', async () => {
    const input = tf.input({ shape: [4, 4, 2] });
    let h = tf.layers
      .conv2d({ filters: 3, kernelSize: 3, padding: 'same' })
      .apply(input) as tf.SymbolicTensor;
    h = new BatchNorm({ name: 'saved_bn' }).apply(h) as tf.SymbolicTensor;
    h = new SeededDropout({ rate: 0.5, name: 'saved_dropout' }).apply(h) as tf.SymbolicTensor;
    h = new NearestUpConv2D({
      filters: 3,
      kernelSize: 3,
      interpolation: 'bilinear',
      kernelInitializer: tf.initializers.randomNormal({ seed: 2 }),
      name: 'saved_upconv',
    }).apply(h) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: h });
    const x = new Rng(1).normalTensor<tf.Rank.R4>([2, 4, 4, 2]);
    tf.dispose(model.apply(x, { training: true }) as tf.Tensor); // moves the running statistics
    await saveModel(model, join(tmp, 'm'));
    const loaded = await loadModel(join(tmp, 'm'));
    const y0 = model.predict(x) as tf.Tensor;
    const y1 = loaded.predict(x) as tf.Tensor;
    expect(maxDiff(y0, y1)).toBe(0);
    expect(y1.shape).toEqual([2, 8, 8, 3]);
    expect(loaded.getLayer('saved_upconv')).toBeInstanceOf(NearestUpConv2D);
    expect((loaded.getLayer('saved_upconv') as NearestUpConv2D).interpolation).toBe('bilinear');
    expect(loaded.getLayer('saved_dropout')).toBeInstanceOf(SeededDropout);
    expect((loaded.getLayer('saved_dropout') as SeededDropout).rate).toBe(0.5);
    tf.dispose([x, y0, y1]);
    model.dispose();
    loaded.dispose();
  });
});
