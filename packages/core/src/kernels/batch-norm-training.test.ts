import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';
import { BN_STATS_KERNEL, batchNormTraining } from './batch-norm-training.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

const EPS = 1e-5;

/** y and the gradients of sum(y·r) for x, γ, β: with batchNormTraining, or Keras' composed ops. */
function forwardAndGrads(shape: number[], seed: number, composed: boolean, offset = 0) {
  return tf.tidy(() => {
    const rng = new Rng(seed);
    const c = shape[shape.length - 1]!;
    const x = tf.add(rng.normalTensor(shape), offset);
    const gamma = rng.uniformTensor<tf.Rank.R1>([c], 0.5, 1.5);
    const beta = rng.uniformTensor<tf.Rank.R1>([c], -1, 1);
    const r = rng.normalTensor(shape);
    const axes = shape.slice(0, -1).map((_, i) => i);
    const f = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      if (!composed) return batchNormTraining(xx, g as tf.Tensor1D, b as tf.Tensor1D, EPS);
      const { mean, variance } = tf.moments(xx, axes);
      return tf.batchNorm(xx, mean, variance, b as tf.Tensor1D, g as tf.Tensor1D, EPS);
    };
    const y = f(x, gamma, beta);
    const grads = tf.grads((xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(xx, g, b), r)))([
      x,
      gamma,
      beta,
    ]);
    return [y, ...grads].map((t) => Array.from(t.dataSync()));
  });
}

function expectClose(actual: number[][], expected: number[][], tol: number) {
  expected.forEach((e, i) => {
    const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
    const worst = e.reduce((m, v, j) => Math.max(m, Math.abs(v - actual[i]![j]!)), 0);
    expect(worst / scale).toBeLessThan(tol);
  });
}

describe('batchNormTraining', () => {
  it.each([
    { label: 'NHWC, 16-channel blocks', shape: [3, 4, 5, 32] },
    { label: 'a 4-channel block', shape: [6, 2, 2, 4] },
    { label: 'channels not a multiple of 4 (composed ops)', shape: [5, 3, 6] },
    { label: '2-D', shape: [7, 8] },
  ])('matches autodiff of the composed ops on the cpu backend: $label', async ({ shape }) => {
    await tf.setBackend('cpu');
    const reference = forwardAndGrads(shape, 1, true);
    const cpu = forwardAndGrads(shape, 1, false);
    await tf.setBackend('wasm');
    const wasm = forwardAndGrads(shape, 1, false);
    expectClose(cpu, reference, 1e-5);
    expectClose(wasm, reference, 1e-5);
  });

  it('keeps its precision when the mean is large against the spread', async () => {
    await tf.setBackend('cpu');
    const reference = forwardAndGrads([8, 2, 2, 8], 2, true, 1000);
    await tf.setBackend('wasm');
    expectClose(forwardAndGrads([8, 2, 2, 8], 2, false, 1000), reference, 1e-3);
  });

  it('normalizes a hand-worked batch and reports its mean and biased variance', async () => {
    await tf.setBackend('wasm');
    // two rows: columns 1,3 / 2,6 / 3,9 / 4,12 → means 2,4,6,8; variances 1,4,9,16
    const x = tf.tensor2d([1, 2, 3, 4, 3, 6, 9, 12], [2, 4]);
    let stats: number[][] = [];
    const y = batchNormTraining(x, tf.ones([4]) as tf.Tensor1D, tf.zeros([4]) as tf.Tensor1D, 0, (m, v) => {
      stats = [Array.from(m.dataSync()), Array.from(v.dataSync())];
    });
    expect(stats).toEqual([
      [2, 4, 6, 8],
      [1, 4, 9, 16],
    ]);
    expect(Array.from(await y.data())).toEqual([-1, -1, -1, -1, 1, 1, 1, 1]);
    const kernels = (await tf.profile(() => batchNormTraining(x, tf.ones([4]), tf.zeros([4]), 0))).kernels;
    expect(kernels.map((k) => k.name)).toContain(BN_STATS_KERNEL);
    tf.dispose([x, y]);
  });

  it('leaks no tensors across steps', async () => {
    await tf.setBackend('wasm');
    forwardAndGrads([2, 3, 3, 8], 3, false);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) forwardAndGrads([2, 3, 3, 8], 3, false);
    expect(tf.memory().numTensors).toBe(before);
  });
});
