import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourDataset, memorySource } from '../test-utils/memory-source.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { AcganTrainer } from './trainer.js';

// Four classes that differ only in colour: red, green, blue, yellow.
const COLOURS = [
  [0.8, -0.8, -0.8],
  [-0.8, 0.8, -0.8],
  [-0.8, -0.8, 0.8],
  [0.8, 0.8, -0.8],
] as const;
let data: { images: tf.Tensor4D; labels: number[] };

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  data = colourDataset(COLOURS, 16, 16, 2);
});
afterAll(() => data.images.dispose());

function nearestColour(rgb: readonly number[]): number {
  const dist = COLOURS.map((c) => c.reduce((s, v, i) => s + (v - rgb[i]!) ** 2, 0));
  return dist.indexOf(Math.min(...dist));
}

describe('class conditioning', () => {
  it("after brief training, each class's generated images are closest in mean colour to that class", async () => {
    // 400 steps of batch 16 (about 10 s on WASM), at a higher learning rate than the paper's.
    const config = tinyConfig({ epochs: 100, training: { learningRateG: 1e-3, learningRateD: 1e-3 } });
    const trainer = await AcganTrainer.create({ config });
    const source = memorySource(data.images, data.labels, { batchSize: 16, seed: 1 });
    await trainer.train(source);
    const labels = [0, 1, 2, 3].flatMap((c) => Array.from({ length: 16 }, () => c));
    const images = trainer.generate(labels, 100);
    const means = tf.tidy(
      () => tf.mean(tf.reshape(images, [4, 16 * 16 * 16, 3]), 1).arraySync() as number[][],
    );
    images.dispose();
    trainer.dispose();
    expect(means.map(nearestColour)).toEqual([0, 1, 2, 3]);
  });
});
