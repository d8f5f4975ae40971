import * as tf from '@tensorflow/tfjs';
import type { NamedTensor } from '../io/file-handler.js';

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
    private readonly optimizers: Map<tf.Optimizer, NamedTensor[]>,
  ) {}

  static async take(models: tf.LayersModel[], optimizers: tf.Optimizer[]): Promise<TrainingSnapshot> {
    const weights = new Map(models.map((m) => [m, m.getWeights().map(hold)] as const));
    const opts = new Map<tf.Optimizer, NamedTensor[]>();
    for (const o of optimizers) {
      const named = await o.getWeights();
      // getWeights returns the live moment variables (held) and a fresh iteration scalar (owned).
      opts.set(
        o,
        named.map((n, i) => ({ name: n.name, tensor: i === 0 ? n.tensor : hold(n.tensor) })),
      );
    }
    return new TrainingSnapshot(weights, opts);
  }

  /** Puts the held values back into the networks and optimizers; the snapshot is used up. */
  async restore(): Promise<void> {
    for (const [model, ws] of this.weights) model.setWeights(ws);
    for (const [opt, named] of this.optimizers) {
      const current = await opt.getWeights();
      // setWeights makes new moment variables; free the diverged ones it replaces.
      tf.dispose(current.map((n) => n.tensor));
      await opt.setWeights(named);
    }
    this.dispose();
  }

  dispose(): void {
    for (const ws of this.weights.values()) tf.dispose(ws);
    for (const named of this.optimizers.values()) tf.dispose(named.map((n) => n.tensor));
    this.weights.clear();
    this.optimizers.clear();
  }
}
