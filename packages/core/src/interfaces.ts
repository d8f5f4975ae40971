import type * as tf from '@tensorflow/tfjs';
import type { LabelSpace } from './labels.js';

/** One image of a dataset: `path` is absolute, `label` indexes the dataset's label space. */
export interface Sample {
  id: string;
  label: number;
  path: string;
}

/** A batch as every trainer takes it: NHWC float32 in [-1, 1], int32 labels, one id per image. */
export interface Batch {
  images: tf.Tensor4D;
  labels: tf.Tensor1D;
  ids: string[];
}

/** Draws images of given classes from noise (an ACGAN, a diffusion model...). */
export interface ConditionalGenerator {
  readonly labelSpace: LabelSpace;
  readonly imageSize: number;
  /** One image per label, NHWC in [-1, 1]. The same seed gives the same images. */
  generate(labels: number[], seed?: number): tf.Tensor4D;
}

/** Maps images of one domain to another (a CycleGAN generator). */
export interface ImageTranslator {
  readonly imageSize: number;
  translate(images: tf.Tensor4D): tf.Tensor4D;
}

/** Class probabilities for a batch of images; rows sum to 1. */
export interface ProbabilisticClassifier {
  readonly labelSpace: LabelSpace;
  readonly inputSize: number;
  predictProba(images: tf.Tensor4D): tf.Tensor2D;
}

/** Embeds images into feature vectors for FID/KID/precision-recall; `name` is reported with every value. */
export interface FeatureExtractor {
  readonly name: string;
  readonly inputSize: number;
  features(images: tf.Tensor4D): tf.Tensor2D;
}

/**
 * What trainers read: a dataset iterated epoch by epoch. The same epoch index gives the same
 * batches in the same order (seeded shuffle and augmentation), so a resumed run sees what an
 * uninterrupted one would. The consumer disposes each batch's tensors.
 */
export interface BatchSource {
  /** Images per epoch. */
  readonly size: number;
  readonly batchSize: number;
  readonly stepsPerEpoch: number;
  /** Batches of one epoch; `skipBatches` starts mid-epoch (on resume). */
  epoch(epoch: number, options?: { skipBatches?: number }): AsyncIterable<Batch>;
}
