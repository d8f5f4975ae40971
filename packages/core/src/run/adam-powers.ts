import * as tf from '@tensorflow/tfjs';

interface AdamInternals {
  accBeta1?: tf.Variable;
  accBeta2?: tf.Variable;
}

/**
 * tfjs' Adam (and Adamax-like optimizers) keep β₁ᵗ and β₂ᵗ as running float32 products, but
 * `setWeights` recomputes them as pow(β, t + 1), which differs in the last bit after ~18 steps; GAN
 * training amplifies that into visibly different losses. Checkpoints therefore carry the products.
 * Returns null for optimizers without them.
 */
export function readAdamPowers(optimizer: tf.Optimizer): [number, number] | null {
  const o = optimizer as unknown as AdamInternals;
  if (!(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable)) return null;
  return [o.accBeta1.dataSync()[0]!, o.accBeta2.dataSync()[0]!];
}

/** Puts saved β-powers back after `setWeights` (no-op for optimizers without them). */
export function writeAdamPowers(
  optimizer: tf.Optimizer,
  powers: readonly [number, number] | null | undefined,
): void {
  const o = optimizer as unknown as AdamInternals;
  if (!powers || !(o.accBeta1 instanceof tf.Variable) || !(o.accBeta2 instanceof tf.Variable)) return;
  tf.tidy(() => {
    o.accBeta1!.assign(tf.scalar(powers[0]));
    o.accBeta2!.assign(tf.scalar(powers[1]));
  });
}
