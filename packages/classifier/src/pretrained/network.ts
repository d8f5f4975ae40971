import * as tf from '@tensorflow/tfjs';
import { type Preprocessing, prepareImages } from '../preprocess.js';
import { loadLayersModelDir } from './layers-model.js';
import { resolvePretrained, weightsPreprocessing } from './weights-cache.js';

/** A pretrained network as published (e.g. the 1000-class ImageNet ResNet-50), with the preprocessing its weights expect. */
export interface PretrainedNetwork {
  readonly model: tf.LayersModel;
  readonly preprocessing: Preprocessing;
  readonly inputSize: number;
  /** The network's output (class probabilities for a classifier) for skingan images in [-1, 1], resized bilinearly. */
  predict(images: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

/**
 * Loads pretrained weights whole: a known name from the cache (`resnet50-imagenet`) or a tfjs layers
 * model folder. The preprocessing is the one the weights declare (their source.json), unless given.
 */
export async function loadPretrainedNetwork(
  nameOrPath: string,
  options: { preprocessing?: Preprocessing } = {},
): Promise<PretrainedNetwork> {
  const found = await resolvePretrained(nameOrPath);
  const model = await loadLayersModelDir(found.dir);
  const preprocessing = options.preprocessing ?? (await weightsPreprocessing(found));
  const inputSize = (model.inputs[0]!.shape[1] as number | null) ?? found.source?.inputSize ?? 224;
  return {
    model,
    preprocessing,
    inputSize,
    predict(images) {
      return tf.tidy(() => model.predict(prepareImages(images, inputSize, preprocessing)) as tf.Tensor2D);
    },
    dispose: () => model.dispose(),
  };
}
