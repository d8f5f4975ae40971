import { SkinganError } from '@skingan/core';

/** One image of the target class after prediction. */
export interface Scored {
  id: string;
  /** The classifier's probability of the target class. */
  probability: number;
  /** The classifier's most probable class is the target. */
  correct: boolean;
}

/** A scored image with its place in the ranking. */
export interface Ranked extends Scored {
  /** 1-based rank among the correctly classified images; null for the others (never kept). */
  rank: number | null;
  kept: boolean;
}

/** How many of the ranked images to keep: a fraction α of them, or the top n. */
export type Selection = { alpha: number } | { top: number };

/**
 * How many of `ranked` images a selection keeps. α keeps ⌈α·ranked⌉ — rounding up, so any α > 0
 * keeps at least one image when one is ranked and α = 1 keeps all of them (a tolerance of 1e-9
 * stops α·n = 15.000000000000002 from becoming 16); top n keeps min(n, ranked).
 */
export function keepCount(ranked: number, selection: Selection): number {
  if ('alpha' in selection) {
    const a = selection.alpha;
    if (!(a > 0 && a <= 1))
      throw new SkinganError(`alpha must be in (0, 1], got ${a}`, {
        code: 'USAGE',
        hint: 'e.g. --alpha 0.25 keeps the top quarter',
      });
    return Math.min(ranked, Math.max(0, Math.ceil(a * ranked - 1e-9)));
  }
  const n = selection.top;
  if (!(Number.isInteger(n) && n > 0))
    throw new SkinganError(`top must be a positive integer, got ${n}`, { code: 'USAGE' });
  return Math.min(ranked, n);
}

/** Orders ids by code units, so ties break the same way on every machine and locale. */
function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The path-rank-filter's selection (Wei et al. 2019): images the classifier gets right are ranked by
 * the target's probability, highest first, ties broken by id; the top of the ranking is kept.
 * Misclassified images are never kept. Returns every image: the ranked ones first, in rank order,
 * then the misclassified ones by descending probability (then id). Each keeps its other fields.
 */
export function rankAndSelect<S extends Scored>(scored: readonly S[], selection: Selection): (S & Ranked)[] {
  const seen = new Set<string>();
  for (const s of scored) {
    if (seen.has(s.id)) throw new SkinganError(`image id ${s.id} appears twice`, { code: 'BAD_INPUT' });
    seen.add(s.id);
    if (!Number.isFinite(s.probability))
      throw new SkinganError(`${s.id}: probability is ${s.probability}`, { code: 'BAD_INPUT' });
  }
  const order = (a: S, b: S) => b.probability - a.probability || compareIds(a.id, b.id);
  const ranked = scored.filter((s) => s.correct).sort(order);
  const others = scored.filter((s) => !s.correct).sort(order);
  const keep = keepCount(ranked.length, selection);
  return [
    ...ranked.map((s, i) => ({ ...s, rank: i + 1, kept: i < keep })),
    ...others.map((s) => ({ ...s, rank: null, kept: false })),
  ];
}
