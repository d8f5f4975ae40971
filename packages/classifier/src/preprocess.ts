import * as tf from '@tensorflow/tfjs';

/**
 * How images in skingan's convention ([-1, 1] RGB) are turned into a network's input:
 * `none` feeds them as they are (models trained here); `caffe` is Keras' "caffe" mode that the
 * Keras ImageNet weights expect (0–255 BGR with the ImageNet channel means subtracted).
 */
export type Preprocessing = 'none' | 'caffe';
export const PREPROCESSINGS: readonly Preprocessing[] = ['none', 'caffe'];

/** ImageNet channel means in BGR order, as `keras.applications.imagenet_utils` subtracts them. */
export const CAFFE_BGR_MEAN = [103.939, 116.779, 123.68] as const;

/** [-1, 1] RGB → [0, 255] → BGR → minus the ImageNet means (Keras `preprocess_input(mode='caffe')`). */
export function caffePreprocess(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const rgb255 = tf.mul(tf.add(images, 1), 127.5);
    const bgr = tf.reverse(rgb255, -1);
    return tf.sub(bgr, tf.tensor1d([...CAFFE_BGR_MEAN])) as tf.Tensor4D;
  });
}

/** Applies a preprocessing mode (a new tensor; the input is not disposed). */
export function preprocess(images: tf.Tensor4D, mode: Preprocessing): tf.Tensor4D {
  return mode === 'caffe' ? caffePreprocess(images) : tf.clone(images);
}
