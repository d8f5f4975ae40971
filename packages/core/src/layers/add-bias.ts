import * as tf from '@tensorflow/tfjs';

/**
 * x + b over the last axis, with a gradient that keeps nothing: tfjs' Add saves both inputs for
 * its gradient (which reads only their shapes), and so kept every convolution's unbiased output
 * alive through the backward pass (+8% heap on the thesis CycleGAN).
 */
export function addBias<T extends tf.Tensor>(x: T, b: tf.Tensor1D): T {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  return tf.customGrad((...args) => {
    const [input, bias] = args as [T, tf.Tensor1D];
    return {
      value: tf.add(input, bias),
      // tidy: tfjs calls a custom gradient outside any scope of its own.
      gradFunc: (dy) => tf.tidy(() => [tf.clone(dy as tf.Tensor), tf.sum(dy as tf.Tensor, axes)]),
    };
  })(x, b) as T;
}

/**
 * A convolution (or any linear map) and then its bias, as the layers of all three models compute
 * them instead of tfjs' fused ops: the fused gradient computes the input's, the filter's and the
 * bias' gradients together whatever is asked for, while plain ops let tfjs skip the gradient of an
 * input that needs none (a first layer's images, D's weights in a G step). In a tidy scope, so the
 * unbiased result is freed at once rather than at the end of the step.
 */
export function withBias<T extends tf.Tensor>(linear: () => T, b: tf.Tensor1D | null | undefined): T {
  return tf.tidy(() => (b ? addBias(linear(), b) : linear()));
}
