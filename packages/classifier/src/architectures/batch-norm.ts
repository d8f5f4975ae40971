import { batchNormTraining, kerasBatchNormFields, single } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * Makes a model's BatchNormalization layers train through `batchNormTraining` (@skingan/core): one
 * op with the closed-form gradient, where Keras composes `tf.moments` and `tf.batchNorm` and tfjs
 * differentiates each piece (~15 passes over the activations per layer; a tenth of a ResNet step on
 * WASM). Same values up to float rounding, the same running-average update (Keras': moving =
 * moving − (moving − batch)·(1 − momentum)); inference, the config and the weights, and so saved
 * models, are unchanged. Layers normalizing an axis other than the last, or without γ and β, keep
 * Keras' path. Returns the names of the layers changed.
 */
export function fuseBatchNorm(model: tf.LayersModel): string[] {
  const changed: string[] = [];
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization' || fused.has(layer)) continue;
    const bn = kerasBatchNormFields(layer);
    if (!bn.gamma || !bn.beta || (bn.axis !== -1 && bn.axis !== (layer.inputSpec?.[0]?.ndim ?? 0) - 1))
      continue;
    const keras = layer.call.bind(layer);
    layer.call = (inputs, kwargs) => {
      const x = single(inputs) as tf.Tensor;
      if (!kwargs?.training) return keras(inputs, kwargs);
      return tf.tidy(() =>
        batchNormTraining(
          x,
          bn.gamma!.read() as tf.Tensor1D,
          bn.beta!.read() as tf.Tensor1D,
          bn.epsilon,
          (m, v) => {
            movingAverage(bn.movingMean, m, bn.momentum);
            movingAverage(bn.movingVariance, v, bn.momentum);
          },
        ),
      );
    };
    fused.add(layer);
    changed.push(layer.name);
  }
  return changed;
}

/** Layers already changed: a second call (the same backbone in two classifiers) leaves them be. */
const fused = new WeakSet<object>();

/** Keras' update, op for op: moving − (moving − value)·(1 − momentum). */
function movingAverage(variable: tf.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const orig = variable.read();
    variable.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - momentum)));
  });
}
