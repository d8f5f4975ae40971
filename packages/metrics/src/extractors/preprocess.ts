import * as tf from '@tensorflow/tfjs';

/** Maps skingan's NHWC [-1, 1] RGB images to what a network was trained on. */
export type Preprocess = (images: tf.Tensor4D) => tf.Tensor4D;

/** BGR channel means of ImageNet that Keras' "caffe" preprocessing subtracts. */
export const CAFFE_BGR_MEANS = [103.939, 116.779, 123.68] as const;

/**
 * Keras/Caffe ImageNet preprocessing (ResNet-50, VGG): RGB [-1, 1] → [0, 255] → BGR, minus the
 * ImageNet channel means, no scaling.
 */
export const caffePreprocess: Preprocess = (images) =>
  tf.tidy(() => {
    const x255 = images.add(1).mul(127.5) as tf.Tensor4D;
    const bgr = tf.reverse(x255, -1);
    return bgr.sub(tf.tensor1d([...CAFFE_BGR_MEANS])) as tf.Tensor4D;
  });

/** [-1, 1] → [0, 1] (torchvision-style networks that normalize inside the graph). */
export const unitPreprocess: Preprocess = (images) => tf.tidy(() => images.add(1).mul(0.5) as tf.Tensor4D);

/** Inception-style networks already take [-1, 1]. */
export const identityPreprocess: Preprocess = (images) => images.clone();

/** The presets by name, as `extractor.json` and the CLI name them. */
export const PREPROCESS_PRESETS: Readonly<Record<string, Preprocess>> = Object.freeze({
  none: identityPreprocess,
  inception: identityPreprocess,
  caffe: caffePreprocess,
  unit: unitPreprocess,
});
