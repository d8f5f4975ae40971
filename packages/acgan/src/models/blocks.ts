import type { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { BatchNorm } from '../layers/batch-norm.js';

/** N(0, 0.02) weights (Radford et al.; the ACGAN paper's "isotropic gaussian"), seeded from `rng`. */
export function normalInit(rng: Rng): ReturnType<typeof tf.initializers.randomNormal> {
  return tf.initializers.randomNormal({ mean: 0, stddev: 0.02, seed: rng.seed() });
}

/** Batch norm with PyTorch's running-average momentum (0.1) and epsilon. */
export function batchNorm(name: string): tf.layers.Layer {
  return new BatchNorm({ momentum: 0.1, epsilon: 1e-5, name });
}

/** log2 of a power of two. */
export function log2(n: number): number {
  return Math.round(Math.log2(n));
}
