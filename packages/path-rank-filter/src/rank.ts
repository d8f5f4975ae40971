import { classIndex, type ProbabilisticClassifier, SkinganError } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import type { Scored } from './select.js';

export interface ScoreOptions<T extends { id: string }> {
  classifier: ProbabilisticClassifier;
  /** The images of the target class. */
  items: readonly T[];
  /** Class name in the classifier's label space, e.g. 'MEL'. */
  targetClass: string;
  /**
   * Loads a batch of items as NHWC images in [-1, 1] (at the classifier's `inputSize`). Filters do
   * not read images themselves: the CLI passes @skingan/data's loader, a library user their own.
   */
  loadImages: (items: readonly T[]) => Promise<tf.Tensor4D>;
  batchSize?: number;
  /** Running count of scored images. */
  onProgress?: (done: number, total: number) => void;
}

/** A scored image with the classifier's predicted class. */
export interface ScoredItem<T> extends Scored {
  item: T;
  predicted: string;
}

/** Predicts every item and returns the target's probability and whether the prediction is the target. */
export async function scoreImages<T extends { id: string }>(o: ScoreOptions<T>): Promise<ScoredItem<T>[]> {
  const target = classIndex(o.classifier.labelSpace, o.targetClass);
  const batchSize = o.batchSize ?? 32;
  const out: ScoredItem<T>[] = [];
  for (let start = 0; start < o.items.length; start += batchSize) {
    const batch = o.items.slice(start, start + batchSize);
    const images = await o.loadImages(batch);
    let probs: number[][];
    try {
      if (images.shape[0] !== batch.length) {
        throw new SkinganError(`loadImages returned ${images.shape[0]} images for ${batch.length} items`, {
          code: 'INTERNAL',
        });
      }
      const p = o.classifier.predictProba(images);
      probs = (await p.array()) as number[][];
      p.dispose();
    } finally {
      images.dispose();
    }
    batch.forEach((item, i) => {
      const row = probs[i]!;
      const best = row.reduce((b, v, j) => (v > row[b]! ? j : b), 0);
      out.push({
        item,
        id: item.id,
        probability: row[target]!,
        correct: best === target,
        predicted: o.classifier.labelSpace.classes[best]!,
      });
    });
    o.onProgress?.(out.length, o.items.length);
  }
  return out;
}
