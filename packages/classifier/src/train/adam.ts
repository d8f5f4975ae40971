import type { ParamGroup } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';

/** fastai's Adam defaults (`fastai.optimizer.Adam`): β1 (`mom`), β2 (`sqrMom`), ε, decoupled weight decay. */
export const FASTAI_ADAM = Object.freeze({ mom: 0.9, sqrMom: 0.99, eps: 1e-5, wd: 0.01 });

/**
 * One parameter group of core's `AdamW` per layer group (fastai's discriminative learning rates);
 * BatchNorm parameters and biases get no weight decay (fastai's `wd_bn_bias=False`).
 */
export function fastaiParamGroups(groups: readonly (readonly tf.LayerVariable[])[]): ParamGroup[] {
  return groups.map((vars) => {
    const noDecay = vars.filter((v) => /\/(bias|beta|gamma)$/.test(v.originalName));
    const read = (v: tf.LayerVariable) => v.read() as tf.Variable;
    return { variables: vars.map(read), noDecay: noDecay.map(read) };
  });
}
