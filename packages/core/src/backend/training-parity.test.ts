import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { tinyNet } from '../test-utils/tiny-net.js';
import { initBackend } from './init-backend.js';

async function train(
  backend: 'wasm' | 'cpu',
  steps: number,
): Promise<{ losses: number[]; tensorsPerStep: number[] }> {
  await initBackend({ backend, log: null });
  const net = tinyNet(11);
  const data = new Rng(5);
  const x = data.uniformTensor<tf.Rank.R4>([4, 8, 8, 3], -1, 1);
  const target = tf.tidy(() => tf.reverse(x, 2)) as tf.Tensor4D;
  const labels = tf.tensor1d([0, 1, 2, 3], 'int32');
  const opt = tf.train.adam(0.01, 0.5);
  const losses: number[] = [];
  const tensorsPerStep: number[] = [];
  for (let i = 0; i < steps; i++) {
    const cost = opt.minimize(() => net.loss(x, labels, target), true) as tf.Scalar;
    losses.push((await cost.data())[0]!);
    cost.dispose();
    tensorsPerStep.push(tf.memory().numTensors);
  }
  tf.dispose([x, target, labels]);
  opt.dispose();
  net.dispose();
  return { losses, tensorsPerStep };
}

describe('training a small conv net', () => {
  it('gives the same losses on wasm and cpu from the same seed, and the loss goes down', async () => {
    const steps = 16;
    const cpu = await train('cpu', steps);
    const wasm = await train('wasm', steps);
    for (let i = 0; i < steps; i++)
      expect(Math.abs(wasm.losses[i]! - cpu.losses[i]!)).toBeLessThanOrEqual(1e-3);
    for (let i = 1; i < steps; i++) expect(wasm.losses[i]!).toBeLessThan(wasm.losses[i - 1]!);
    expect(wasm.losses[steps - 1]!).toBeLessThan(wasm.losses[0]! * 0.9);
    // No tensor leak: after the optimizer's slots exist (step 1), the count stays flat.
    expect(new Set(wasm.tensorsPerStep.slice(1)).size).toBe(1);
  });

  it('trains a tfjs-layers conv model with model.fit on wasm', async () => {
    await initBackend({ backend: 'wasm', log: null });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [8, 8, 3],
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          kernelInitializer: tf.initializers.glorotNormal({ seed: 1 }),
        }),
        tf.layers.batchNormalization(),
        tf.layers.conv2dTranspose({
          filters: 4,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          kernelInitializer: tf.initializers.glorotNormal({ seed: 2 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({
          units: 2,
          activation: 'softmax',
          kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }),
        }),
      ],
    });
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const rng = new Rng(9);
    const x = rng.uniformTensor<tf.Rank.R4>([16, 8, 8, 3], -1, 1);
    const y = tf.tidy(() => tf.oneHot(tf.greater(tf.mean(x, [1, 2, 3]), 0).toInt(), 2));
    const h = await model.fit(x, y, { epochs: 10, batchSize: 8, shuffle: false, verbose: 0 });
    const loss = h.history.loss as number[];
    expect(loss[loss.length - 1]!).toBeLessThan(loss[0]!);
    tf.dispose([x, y]);
    model.dispose();
  });
});
