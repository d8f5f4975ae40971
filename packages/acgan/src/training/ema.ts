import * as tf from '@tensorflow/tfjs';

/**
 * The decay of EMA update number `update` (1-based): `decay`, held lower during warm-up as
 * TensorFlow's `ExponentialMovingAverage(num_updates)` does, min(decay, (1 + t) / (10 + t)), so that
 * the average forgets the random initial weights within tens of steps instead of ~1/(1 − decay).
 */
export function emaDecayAt(decay: number, update: number): number {
  return Math.min(decay, (1 + update) / (10 + update));
}

/**
 * An exponential moving average of a network's weights, held in a second network of the same
 * architecture (`shadow`), so it samples, saves and loads like any generator (Karras et al. 2018,
 * Yazıcı et al. 2019: the average of G's recent weights draws better images than G's last ones).
 * Every weight is averaged, batch-norm running statistics included.
 */
export class WeightAverage {
  /** Updates applied so far (the warm-up counter; saved with each checkpoint). */
  updates = 0;

  constructor(
    readonly source: tf.LayersModel,
    readonly shadow: tf.LayersModel,
    readonly decay: number,
  ) {
    const [a, b] = [source.weights, shadow.weights];
    const same = a.length === b.length && a.every((w, i) => w.shape.join() === b[i]!.shape.join());
    if (!same) throw new Error(`${shadow.name} does not have the weights of ${source.name}`);
    this.reset();
  }

  /** shadow ← d·shadow + (1 − d)·source, with d = `emaDecayAt(decay, updates + 1)`. */
  update(): void {
    const d = emaDecayAt(this.decay, this.updates + 1);
    const sources = this.source.weights;
    tf.tidy(() => {
      this.shadow.weights.forEach((s, i) => {
        const v = s.read() as tf.Variable;
        // Variables are never written in place (assign takes a new buffer), so holding no copy is safe.
        v.assign(tf.add(tf.mul(v, d), tf.mul(sources[i]!.read(), 1 - d)));
      });
    });
    this.updates++;
  }

  /** Starts the average over from the source's current weights (copies, not shared buffers). */
  reset(): void {
    tf.tidy(() => {
      const sources = this.source.weights;
      this.shadow.weights.forEach((s, i) => {
        (s.read() as tf.Variable).assign(tf.mul(sources[i]!.read(), 1));
      });
    });
    this.updates = 0;
  }
}
