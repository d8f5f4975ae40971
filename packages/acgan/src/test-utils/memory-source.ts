import { type Batch, type BatchSource, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * An in-memory BatchSource for tests: a seeded shuffle per epoch (the same epoch gives the same
 * batches), the last partial batch dropped. `poison` replaces the images of global batch k with NaN.
 */
export function memorySource(
  images: tf.Tensor4D,
  labels: readonly number[],
  options: { batchSize: number; seed?: number; poison?: number },
): BatchSource {
  const n = images.shape[0];
  const { batchSize } = options;
  const stepsPerEpoch = Math.floor(n / batchSize);
  return {
    size: n,
    batchSize,
    stepsPerEpoch,
    async *epoch(epoch: number, opts: { skipBatches?: number } = {}): AsyncIterable<Batch> {
      const order = new Rng(`${options.seed ?? 0}:${epoch}`).shuffle(Array.from({ length: n }, (_, i) => i));
      for (let b = opts.skipBatches ?? 0; b < stepsPerEpoch; b++) {
        const idx = order.slice(b * batchSize, (b + 1) * batchSize);
        const poisoned = options.poison === epoch * stepsPerEpoch + b;
        const batchImages = tf.tidy(() => {
          const x = tf.gather(images, tf.tensor1d(idx, 'int32')) as tf.Tensor4D;
          return poisoned ? (tf.mul(x, Number.NaN) as tf.Tensor4D) : x;
        });
        yield {
          images: batchImages,
          labels: tf.tensor1d(
            idx.map((i) => labels[i]!),
            'int32',
          ),
          ids: idx.map((i) => `img${i}`),
        };
      }
    },
  };
}

/** Four well-separated colours: the toy classes of the trainer tests. */
export const TOY_COLOURS = [
  [0.8, -0.8, -0.8],
  [-0.8, 0.8, -0.8],
  [-0.8, -0.8, 0.8],
  [0.8, 0.8, -0.8],
] as const;

/** Solid-colour toy images (one colour per class, ±`noise`), NHWC in [-1, 1]. */
export function colourDataset(
  colours: readonly (readonly [number, number, number])[],
  perClass: number,
  size: number,
  seed = 0,
  noise = 0.1,
): { images: tf.Tensor4D; labels: number[] } {
  const rng = new Rng(seed);
  const labels: number[] = [];
  const values = new Float32Array(colours.length * perClass * size * size * 3);
  let o = 0;
  colours.forEach((c, label) => {
    for (let k = 0; k < perClass; k++) {
      labels.push(label);
      for (let p = 0; p < size * size; p++) {
        for (let ch = 0; ch < 3; ch++)
          values[o++] = Math.max(-1, Math.min(1, c[ch]! + noise * (2 * rng.float() - 1)));
      }
    }
  });
  return { images: tf.tensor4d(values, [labels.length, size, size, 3]), labels };
}
