import type { ProbabilisticClassifier } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { scoreImages } from './rank.js';
import { type Ranked, rankAndSelect, type Selection } from './select.js';

export interface PathRankFilterOptions<T extends { id: string }> {
  classifier: ProbabilisticClassifier;
  /** The images of the target class (e.g. the MEL training images). */
  items: readonly T[];
  targetClass: string;
  selection: Selection;
  loadImages: (items: readonly T[]) => Promise<tf.Tensor4D>;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PathRankFilterResult<T> {
  /** Every image: ranked ones in rank order, then the misclassified ones. */
  rows: (Ranked & { predicted: string; item: T })[];
  kept: T[];
  /** Images scored, classified as the target, kept. */
  counts: { scored: number; correct: number; kept: number };
}

/**
 * The path-rank-filter (Wei et al. 2019, as the thesis used it for NV → MEL): predict every image of
 * the target class, keep those the classifier calls the target, rank them by the target's
 * probability and keep the top α (or top n). What a CycleGAN then learns the target domain from.
 */
export async function pathRankFilter<T extends { id: string }>(
  o: PathRankFilterOptions<T>,
): Promise<PathRankFilterResult<T>> {
  const scored = await scoreImages(o);
  const rows = rankAndSelect(scored, o.selection);
  const kept = rows.filter((r) => r.kept).map((r) => r.item);
  return {
    rows,
    kept,
    counts: { scored: scored.length, correct: rows.filter((r) => r.rank !== null).length, kept: kept.length },
  };
}
