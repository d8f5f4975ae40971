import * as tf from '@tensorflow/tfjs';

/** Gradient of each input, computed only if backprop asks for it. */
export type LazyGrads<K extends string> = Record<K, () => tf.Tensor>;

interface KernelFuncParams {
  forwardFunc: (backend: unknown, save: (tensors: tf.Tensor[]) => void) => tf.Tensor;
  backwardsFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => Record<string, () => tf.Tensor>;
  inputs: Record<string, tf.Tensor>;
  attrs: Record<string, never>;
}

/** tfjs-core's engine method behind `tf.customGrad` (private in its typings, stable across 4.x). */
interface EngineInternals {
  runKernelFunc(params: KernelFuncParams): tf.Tensor;
}

/**
 * Like `tf.customGrad`, with two differences that matter for training memory and time:
 * - gradients are closures, so backprop computes only those of inputs on the path to the
 *   variables (`tf.customGrad` computes all, e.g. an input gradient of the first convolution of a
 *   generator fed real images);
 * - only the tensors passed to `save` outlive the forward pass (as with `tf.customGrad`), so an op
 *   keeps exactly what its gradient needs.
 *
 * `forward` runs in a tidy scope and without recording to the tape; `backward` receives the
 * upstream gradient and the saved tensors.
 */
export function customOp<K extends string>(
  name: string,
  inputs: Record<K, tf.Tensor>,
  forward: (save: (tensors: tf.Tensor[]) => void) => tf.Tensor,
  backward: (dy: tf.Tensor, saved: tf.Tensor[]) => LazyGrads<K>,
): tf.Tensor {
  const engine = tf.engine() as unknown as EngineInternals;
  // The named scope labels the op in tf.profile() output.
  return tf.tidy(name, () =>
    engine.runKernelFunc({
      forwardFunc: (_backend, save) => forward(save),
      backwardsFunc: (dy, saved) => backward(dy, saved),
      inputs,
      attrs: {},
    }),
  );
}
