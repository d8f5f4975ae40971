import * as tf from '@tensorflow/tfjs';

/**
 * Per-image, per-channel mean over the spatial axes of an NHWC tensor: [n, h, w, c] → [n, 1, 1, c],
 * as one average pool over the whole image. On WASM, tf.mean over non-last axes transposes the
 * tensor first (~10× slower), and a matrix product with a row of ones repacks the tensor as XNNPACK
 * weights on every call (~40× slower).
 */
export function spatialMean(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  // The kernel itself: tf.avgPool adds a Cast to the input dtype, one more kernel call per mean.
  return tf.engine().runKernel('AvgPool', { x }, {
    filterSize: [h, w],
    strides: [1, 1],
    pad: 'valid',
  } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
