import { type BatchSource, type Callback, type EpochSource, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { ImageClassifier } from '../classifier.js';

/**
 * Backbone features of one pass over a source, computed once in inference mode. While the backbone
 * is frozen and no augmentation changes the images, every epoch would compute exactly these, so the
 * head trains on them directly: an epoch costs a few matrix products instead of a backbone pass.
 */
export class FeatureCache {
  private constructor(
    readonly features: tf.Tensor2D,
    readonly labels: Int32Array,
  ) {}

  get size(): number {
    return this.labels.length;
  }

  /** One pass over `source.epoch(0)`. */
  static async build(classifier: ImageClassifier, source: BatchSource): Promise<FeatureCache> {
    const parts: tf.Tensor2D[] = [];
    const labels: number[] = [];
    try {
      for await (const batch of source.epoch(0)) {
        try {
          parts.push(classifier.features(batch.images, false));
          labels.push(...(await batch.labels.data()));
        } finally {
          tf.dispose([batch.images, batch.labels]);
        }
      }
      const features = parts.length
        ? (tf.concat(parts, 0) as tf.Tensor2D)
        : tf.zeros([0, classifier.spec.featureDim]);
      return new FeatureCache(features as tf.Tensor2D, Int32Array.from(labels));
    } finally {
      tf.dispose(parts);
    }
  }

  /** Batches of an epoch in an order drawn from (seed, epoch), so a resumed run sees the same order. */
  *batches(
    epoch: number,
    batchSize: number,
    seed: number,
  ): Generator<{ features: tf.Tensor2D; labels: tf.Tensor1D }> {
    const order = new Rng(`${seed}:features:${epoch}`).shuffle(
      Array.from({ length: this.size }, (_, i) => i),
    );
    for (let start = 0; start < order.length; start += batchSize) {
      const idx = order.slice(start, start + batchSize);
      yield {
        features: tf.tidy(() => tf.gather(this.features, tf.tensor1d(idx, 'int32'))) as tf.Tensor2D,
        labels: tf.tensor1d(
          idx.map((i) => this.labels[i]!),
          'int32',
        ),
      };
    }
  }

  /** In source order, for validation. */
  *inOrder(batchSize: number): Generator<{ features: tf.Tensor2D; labels: number[] }> {
    for (let start = 0; start < this.size; start += batchSize) {
      const end = Math.min(this.size, start + batchSize);
      yield {
        features: tf.slice(this.features, [start, 0], [end - start, -1]),
        labels: Array.from(this.labels.subarray(start, end)),
      };
    }
  }

  stepsPerEpoch(batchSize: number): number {
    return Math.ceil(this.size / batchSize);
  }

  dispose(): void {
    this.features.dispose();
  }
}

/** A training batch of the learner: images, or a frozen backbone's cached features. */
export interface LearnerBatch {
  images?: tf.Tensor4D;
  features?: tf.Tensor2D;
  labels: tf.Tensor1D;
}

/**
 * The features of a frozen phase as a training-loop callback and epoch source: computed once when
 * the phase's fit begins (train, unless augmented; validation), freed when it ends.
 */
export class PhaseFeatures implements Callback, EpochSource<LearnerBatch> {
  train: FeatureCache | undefined;
  val: FeatureCache | undefined;

  constructor(
    private readonly build: (source: BatchSource, what: string) => Promise<FeatureCache>,
    private readonly sources: { train?: BatchSource | undefined; val?: BatchSource | undefined },
    private readonly batchSize: number,
    private readonly seed: number,
  ) {}

  get stepsPerEpoch(): number {
    return this.train?.stepsPerEpoch(this.batchSize) ?? 0;
  }

  async beforeFit(): Promise<void> {
    if (this.sources.train) this.train = await this.build(this.sources.train, 'train');
    if (this.sources.val) this.val = await this.build(this.sources.val, 'validation');
  }

  async *epoch(epoch: number, options?: { skipBatches?: number }): AsyncGenerator<LearnerBatch> {
    let skip = options?.skipBatches ?? 0;
    for (const b of this.train?.batches(epoch, this.batchSize, this.seed) ?? []) {
      if (skip-- > 0) {
        tf.dispose([b.features, b.labels]);
        continue;
      }
      yield b;
    }
  }

  afterFit(): void {
    this.dispose();
  }

  onError(): void {
    this.dispose();
  }

  private dispose(): void {
    this.train?.dispose();
    this.val?.dispose();
    this.train = undefined;
    this.val = undefined;
  }
}
