import { PREPROCESS_PRESETS } from '@skingan/metrics';
import * as tf from '@tensorflow/tfjs';

/**
 * How images in skingan's convention ([-1, 1] RGB) are turned into a network's input:
 * `none` feeds them as they are (models trained here); `caffe` is Keras' "caffe" mode that the
 * Keras ImageNet weights expect (0–255 BGR with the ImageNet channel means subtracted). The
 * functions are metrics' (`caffePreprocess`), which its ResNet-50 feature extractor uses too.
 */
export type Preprocessing = 'none' | 'caffe';
export const PREPROCESSINGS: readonly Preprocessing[] = ['none', 'caffe'];

/** Applies a preprocessing mode (a new tensor; the input is not disposed). */
export function preprocess(images: tf.Tensor4D, mode: Preprocessing): tf.Tensor4D {
  return PREPROCESS_PRESETS[mode]!(images);
}

/** Resized bilinearly to `size`×`size` (unless it is already) and preprocessed, in a new tensor. */
export function prepareImages(images: tf.Tensor4D, size: number, mode: Preprocessing): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w] = images.shape;
    const sized =
      h === size && w === size ? images : tf.image.resizeBilinear(images, [size, size], false, true);
    return preprocess(sized, mode);
  });
}
