import { SkinganError } from '@skingan/core';

/** A hyper-parameter as a function of training progress `pos` ∈ [0, 1]. */
export type Schedule = (pos: number) => number;

/** fastai `sched_cos`: half a cosine from `start` (pos 0) to `end` (pos 1). */
export function schedCos(start: number, end: number, pos: number): number {
  return start + ((1 + Math.cos(Math.PI * (1 - pos))) * (end - start)) / 2;
}

/** fastai `sched_exp`: geometric interpolation, used by the LR finder. */
export function schedExp(start: number, end: number, pos: number): number {
  return start * (end / start) ** pos;
}

/** fastai `combine_scheds`: runs `scheds[i]` over the share `pcts[i]` of training (pcts sum to 1). */
export function combineScheds(pcts: readonly number[], scheds: readonly Schedule[]): Schedule {
  const total = pcts.reduce((a, b) => a + b, 0);
  if (Math.abs(total - 1) > 1e-9 || pcts.some((p) => p < 0) || pcts.length !== scheds.length) {
    throw new SkinganError(`schedule shares must be ≥ 0 and sum to 1, got ${pcts.join(', ')}`, {
      code: 'USAGE',
    });
  }
  const edges = [0];
  for (const p of pcts) edges.push(edges[edges.length - 1]! + p);
  const last = edges.length - 2;
  return (pos) => {
    let idx = 0;
    for (let i = 0; i < edges.length; i++) if (pos >= edges[i]!) idx = i;
    idx = Math.min(idx, last);
    const span = edges[idx + 1]! - edges[idx]!;
    return scheds[idx]!(span === 0 ? 1 : (pos - edges[idx]!) / span);
  };
}

/** fastai `combined_cos`: cosine from `start` to `middle` over `pct`, then to `end`. */
export function combinedCos(pct: number, start: number, middle: number, end: number): Schedule {
  return combineScheds([pct, 1 - pct], [(p) => schedCos(start, middle, p), (p) => schedCos(middle, end, p)]);
}

export interface OneCycleOptions {
  /** Peak learning rate of each parameter group. */
  lrMax: readonly number[];
  /** Start at lrMax/div; fastai 25. */
  div?: number;
  /** End at lrMax/divFinal; fastai 1e5. */
  divFinal?: number;
  /** Share of training spent warming up; fastai 0.25. */
  pctStart?: number;
  /** β1 at start, at the peak and at the end; fastai (0.95, 0.85, 0.95). */
  moms?: readonly [number, number, number];
}

export const ONE_CYCLE_DEFAULTS = Object.freeze({
  div: 25,
  divFinal: 1e5,
  pctStart: 0.25,
  moms: [0.95, 0.85, 0.95] as const,
});

/**
 * fastai's `fit_one_cycle`: each group's learning rate warms up from lrMax/div to lrMax over the
 * first `pctStart` of training and anneals to lrMax/divFinal, both with cosines, while Adam's β1
 * goes the opposite way (0.95 → 0.85 → 0.95). `pos` is step / total steps, 0-based as fastai's
 * `pct_train` (the first step sees pos 0).
 */
export function oneCycle(options: OneCycleOptions): { lr: (pos: number) => number[]; mom: Schedule } {
  const div = options.div ?? ONE_CYCLE_DEFAULTS.div;
  const divFinal = options.divFinal ?? ONE_CYCLE_DEFAULTS.divFinal;
  const pct = options.pctStart ?? ONE_CYCLE_DEFAULTS.pctStart;
  const [m0, m1, m2] = options.moms ?? ONE_CYCLE_DEFAULTS.moms;
  const lrs = options.lrMax.map((l) => combinedCos(pct, l / div, l, l / divFinal));
  return { lr: (pos) => lrs.map((f) => f(pos)), mom: combinedCos(pct, m0, m1, m2) };
}

/** fastai `even_mults`: n values from start to stop, evenly spaced on a log scale. */
export function evenMults(start: number, stop: number, n: number): number[] {
  if (n === 1) return [stop];
  const step = (stop / start) ** (1 / (n - 1));
  return Array.from({ length: n }, (_, i) => start * step ** i);
}

/**
 * Learning rates per group from fastai's `slice`: `{ stop }` alone gives stop/10 to every group
 * but the last; `{ start, stop }` spreads them geometrically (discriminative learning rates).
 */
export function sliceLrs(lr: { start?: number; stop: number }, groups: number): number[] {
  if (lr.start) return evenMults(lr.start, lr.stop, groups);
  return [...new Array(groups - 1).fill(lr.stop / 10), lr.stop];
}
