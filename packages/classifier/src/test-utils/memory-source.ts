import { type Batch, type BatchSource, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * An in-memory BatchSource over fixed images: a seeded shuffle per epoch (or none), batches the
 * consumer disposes, as @skingan/data's sources behave.
 */
export function memorySource(
  images: tf.Tensor4D,
  labels: readonly number[],
  batchSize: number,
  shuffleSeed?: number,
): BatchSource {
  const n = labels.length;
  return {
    size: n,
    batchSize,
    stepsPerEpoch: Math.ceil(n / batchSize),
    async *epoch(epoch: number, options?: { skipBatches?: number }): AsyncIterable<Batch> {
      const idx = Array.from({ length: n }, (_, i) => i);
      const order = shuffleSeed === undefined ? idx : new Rng(`${shuffleSeed}:${epoch}`).shuffle(idx);
      for (let b = options?.skipBatches ?? 0; b * batchSize < n; b++) {
        const part = order.slice(b * batchSize, (b + 1) * batchSize);
        yield {
          images: tf.tidy(() => tf.gather(images, tf.tensor1d(part, 'int32'))) as tf.Tensor4D,
          labels: tf.tensor1d(
            part.map((i) => labels[i]!),
            'int32',
          ),
          ids: part.map((i) => `img${String(i).padStart(3, '0')}`),
        };
      }
    },
  };
}

/**
 * A learnable toy problem: class k images are noise plus a bright patch in one of `classes`
 * positions, so a tiny CNN separates them in a few steps.
 */
export function toyImages(
  n: number,
  size: number,
  classes: number,
  seed = 1,
): { images: tf.Tensor4D; labels: number[] } {
  const rng = new Rng(seed);
  const labels = Array.from({ length: n }, (_, i) => i % classes);
  const data = new Float32Array(n * size * size * 3);
  const cell = Math.floor(size / classes);
  labels.forEach((label, i) => {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const bright = x >= label * cell && x < (label + 1) * cell && y < size / 2;
        for (let c = 0; c < 3; c++)
          data[((i * size + y) * size + x) * 3 + c] = (bright ? 0.8 : -0.8) + 0.2 * rng.normal();
      }
    }
  });
  return { images: tf.tensor4d(data, [n, size, size, 3]), labels };
}

/** A ResNet small enough for unit tests on the WASM backend. */
export const TINY_RESNET = { block: 'basic', layers: [1, 1], widths: [4, 8], stemWidth: 4 } as const;
