import type * as tf from '@tensorflow/tfjs';

export interface ParamCount {
  /** Trainable parameters (what PyTorch's `parameters()` counts). */
  trainable: number;
  /** Frozen weights and batch-norm running statistics. */
  nonTrainable: number;
}

/** A model's parameters: the elements of its weights (which have fully known shapes). */
export function countParams(model: tf.LayersModel): ParamCount {
  const size = (ws: tf.LayerVariable[]) =>
    ws.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
  return { trainable: size(model.trainableWeights), nonTrainable: size(model.nonTrainableWeights) };
}
