import type { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * The reference initialization: every convolution kernel N(0, std) (std 0.02), biases zero. Values
 * come from `rng` in JavaScript, so the same seed gives the same weights on every backend.
 */
export function initNormal(model: tf.LayersModel, rng: Rng, std = 0.02): void {
  for (const w of model.weights) {
    const v = w.read();
    const init = /\/kernel$/.test(w.originalName) ? rng.normalTensor(v.shape, 0, std) : tf.zerosLike(v);
    w.write(init);
    init.dispose();
  }
}
