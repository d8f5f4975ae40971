import { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { DisposableFeatureExtractor } from './layer-extractor.js';

export interface TestExtractorOptions {
  /** Input side in pixels (default 32). */
  inputSize?: number;
  /** Seed of the random weights (default 'skingan-test-extractor'). */
  seed?: number | string;
}

const DEFAULT_SEED = 'skingan-test-extractor';

/**
 * A small fixed-seed random convolutional network (two 3×3 stride-2 conv + ReLU layers, 16 and
 * 32 filters, He-scaled normal weights drawn in JavaScript), whose features are the per-channel
 * mean and max of the last layer: 64-d. Random conv features separate image statistics well enough
 * to test the metric plumbing quickly on WASM; they mean nothing perceptually, and values from it
 * are comparable only with values from the same seed and input size.
 */
export function testFeatureExtractor(options: TestExtractorOptions = {}): DisposableFeatureExtractor {
  const inputSize = options.inputSize ?? 32;
  const seed = options.seed ?? DEFAULT_SEED;
  const rng = new Rng(seed);
  const w1 = rng.normalTensor<tf.Rank.R4>([3, 3, 3, 16], 0, Math.sqrt(2 / 27));
  const w2 = rng.normalTensor<tf.Rank.R4>([3, 3, 16, 32], 0, Math.sqrt(2 / 144));
  const suffix = seed === DEFAULT_SEED ? '' : `, seed ${seed}`;
  return {
    name: `test-random-conv (64-d, ${inputSize}px${suffix})`,
    inputSize,
    dim: 64,
    features(images: tf.Tensor4D): tf.Tensor2D {
      return tf.tidy(() => {
        const h1 = tf.relu(tf.conv2d(images, w1, 2, 'same'));
        const h2 = tf.relu(tf.conv2d(h1, w2, 2, 'same'));
        return tf.concat([h2.mean([1, 2]), h2.max([1, 2])], 1) as tf.Tensor2D;
      });
    },
    dispose() {
      tf.dispose([w1, w2]);
    },
  };
}
