import * as tf from '@tensorflow/tfjs';
import { SkinganError } from '../errors.js';
import type { NamedTensor } from '../io/file-handler.js';
import { AdamW } from '../optim/adamw.js';

/**
 * A handle on a tensor's current buffer. `reshape` to the same shape shares the buffer on every
 * tfjs backend (no copy), and a variable's later `assign` gives the variable a new buffer, so the
 * handle keeps the old values alive at no cost until it is disposed.
 */
function hold(t: tf.Tensor): tf.Tensor {
  return tf.reshape(t, t.shape);
}

/** The state of both networks and optimizers before a step, to roll back to if the step diverges. */
export class TrainingSnapshot {
  private constructor(
    private readonly weights: Map<tf.LayersModel, tf.Tensor[]>,
    private readonly optimizers: Map<AdamW, NamedTensor[]>,
  ) {}

  static async take(models: tf.LayersModel[], optimizers: tf.Optimizer[]): Promise<TrainingSnapshot> {
    const weights = new Map(models.map((m) => [m, m.getWeights().map(hold)] as const));
    const opts = new Map<AdamW, NamedTensor[]>();
    for (const o of optimizers) {
      // Holding instead of copying is safe only where setWeights copies back (core's AdamW).
      if (!(o instanceof AdamW)) {
        throw new SkinganError(`rollback needs core's AdamW optimizers, got ${o.getClassName()}`, {
          code: 'INTERNAL',
        });
      }
      // Its live moments (variables) are held, not copied; what getWeights made afresh (the step
      // counts' header) is ours already.
      opts.set(
        o,
        (await o.getWeights()).map((n) => ({
          name: n.name,
          tensor: n.tensor instanceof tf.Variable ? hold(n.tensor) : n.tensor,
        })),
      );
    }
    return new TrainingSnapshot(weights, opts);
  }

  /** Puts the held values back into the networks and optimizers; the snapshot is used up. */
  async restore(): Promise<void> {
    for (const [model, ws] of this.weights) model.setWeights(ws);
    // AdamW.setWeights copies into its own variables (the held tensors stay ours).
    for (const [opt, named] of this.optimizers) await opt.setWeights(named);
    this.dispose();
  }

  dispose(): void {
    for (const ws of this.weights.values()) tf.dispose(ws);
    for (const named of this.optimizers.values()) tf.dispose(named.map((n) => n.tensor));
    this.weights.clear();
    this.optimizers.clear();
  }
}
