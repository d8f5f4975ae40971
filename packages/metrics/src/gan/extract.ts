import type { FeatureExtractor, ProbabilisticClassifier } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { checkFinite, concatRows, type FeatureMatrix, toRows } from './feature-matrix.js';

export type ImageSource = tf.Tensor4D | Iterable<tf.Tensor4D> | AsyncIterable<tf.Tensor4D>;

export interface ExtractOptions {
  /** Images per `features()` call (default 32). */
  batchSize?: number;
  /** Called after each batch with the number of images done so far. */
  onProgress?: (done: number) => void;
}

/**
 * Runs an extractor over images (NHWC in [-1, 1]) and returns float64 features, one row per image.
 * A tensor passed directly stays the caller's; tensors yielded by an iterable are disposed here
 * (the consumer disposes, as with `BatchSource`). Images of another size than `extractor.inputSize`
 * are resized bilinearly; for FID prefer loading them at the input size (data's bicubic resize).
 */
export async function extractFeatures(
  extractor: FeatureExtractor,
  images: ImageSource,
  options: ExtractOptions = {},
): Promise<FeatureMatrix> {
  const m = await mapImages(images, extractor.inputSize, (b) => extractor.features(b), options);
  return checkFinite(m, `features from ${extractor.name}`);
}

/**
 * A classifier's class probabilities for images (NHWC in [-1, 1]), one row per image, with the same
 * batching, resizing and disposal rules as `extractFeatures`.
 */
export async function predictProbabilities(
  classifier: ProbabilisticClassifier,
  images: ImageSource,
  options: ExtractOptions = {},
): Promise<number[][]> {
  return toRows(await mapImages(images, classifier.inputSize, (b) => classifier.predictProba(b), options));
}

/** Applies `fn` (images at `size`² → one row per image) to every image of `images`, in batches. */
async function mapImages(
  images: ImageSource,
  size: number,
  fn: (batch: tf.Tensor4D) => tf.Tensor2D,
  options: ExtractOptions,
): Promise<FeatureMatrix> {
  const batchSize = options.batchSize ?? 32;
  const chunks: FeatureMatrix[] = [];
  let done = 0;
  const run = async (x: tf.Tensor4D): Promise<void> => {
    for (let start = 0; start < x.shape[0]; start += batchSize) {
      const n = Math.min(batchSize, x.shape[0] - start);
      const f = tf.tidy(() => {
        let b = x.shape[0] === n ? x : x.slice([start, 0, 0, 0], [n, -1, -1, -1]);
        if (b.shape[1] !== size || b.shape[2] !== size) b = tf.image.resizeBilinear(b, [size, size]);
        return fn(b);
      });
      chunks.push({ rows: n, cols: f.shape[1], data: Float64Array.from(await f.data()) });
      f.dispose();
      done += n;
      options.onProgress?.(done);
    }
  };
  if (images instanceof tf.Tensor) {
    await run(images);
  } else {
    for await (const x of images as AsyncIterable<tf.Tensor4D>) {
      try {
        await run(x);
      } finally {
        x.dispose();
      }
    }
  }
  return concatRows(chunks);
}
