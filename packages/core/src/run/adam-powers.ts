import * as tf from '@tensorflow/tfjs';
import { adamPowerVariables } from '../tfjs-internals.js';

/**
 * tfjs' Adam (and Adamax-like optimizers) keep β₁ᵗ and β₂ᵗ as running float32 products, but
 * `setWeights` recomputes them as pow(β, t + 1), which differs in the last bit after ~18 steps; GAN
 * training amplifies that into visibly different losses. Checkpoints therefore carry the products.
 * Returns null for optimizers without them.
 */
export function readAdamPowers(optimizer: tf.Optimizer): [number, number] | null {
  const v = adamPowerVariables(optimizer);
  return v && [v[0].dataSync()[0]!, v[1].dataSync()[0]!];
}

/** Puts saved β-powers back after `setWeights` (no-op for optimizers without them). */
export function writeAdamPowers(
  optimizer: tf.Optimizer,
  powers: readonly [number, number] | null | undefined,
): void {
  const v = adamPowerVariables(optimizer);
  if (!powers || !v) return;
  tf.tidy(() => {
    v[0].assign(tf.scalar(powers[0]));
    v[1].assign(tf.scalar(powers[1]));
  });
}
