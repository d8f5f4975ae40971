import { schedExp } from './schedule.js';

export interface LrFinderOptions {
  /** fastai: 1e-7. */
  startLr?: number;
  /** fastai: 10. */
  endLr?: number;
  /** Steps of the sweep; fastai: 100 (at least 6). */
  numIt?: number;
  /** Stop once the smoothed loss exceeds 4× its minimum (or is not finite); fastai: true. */
  stopDiv?: boolean;
}

export const LR_FINDER_DEFAULTS = Object.freeze({ startLr: 1e-7, endLr: 10, numIt: 100, stopDiv: true });

export interface LrSuggestions {
  /** fastai's default: halfway along the longest stretch where the loss keeps falling. */
  valley: number;
  /** Where the smoothed loss falls fastest per log-step of the learning rate. */
  steep: number;
  /** A tenth of the learning rate at the smallest loss. */
  minimum: number;
}

export interface LrFinderResult {
  /** The learning rate of every step taken. */
  lrs: number[];
  /** Raw batch losses. */
  losses: number[];
  /** Debiased exponential moving average (β = 0.98), what fastai plots and suggests from. */
  smoothed: number[];
  /** Why the sweep ended. */
  stopped: 'completed' | 'diverged';
  suggestion: LrSuggestions | null;
  /** The (lr, smoothed loss) points the suggestions sit on, for the plot. */
  points: { valley?: [number, number]; steep?: [number, number]; minimum?: [number, number] };
  options: Required<LrFinderOptions>;
}

/**
 * fastai's LR finder loop: step i trains one batch at lr = start·(end/start)^(i/numIt), the loss is
 * smoothed as fastai's Recorder does, and the sweep stops after numIt steps or when the smoothed
 * loss exceeds 4× the best so far. `step` trains one batch at a learning rate and returns its loss.
 */
export async function lrFinderLoop(
  step: (lr: number, i: number) => Promise<number>,
  options: LrFinderOptions = {},
): Promise<LrFinderResult> {
  const o = { ...LR_FINDER_DEFAULTS, ...stripUndefined(options) };
  const numIt = Math.max(6, o.numIt);
  const lrs: number[] = [];
  const losses: number[] = [];
  const smoothed: number[] = [];
  let avg = 0;
  let best = Number.POSITIVE_INFINITY;
  let stopped: LrFinderResult['stopped'] = 'completed';
  for (let i = 0; i < numIt; i++) {
    const lr = schedExp(o.startLr, o.endLr, i / numIt);
    const loss = await step(lr, i);
    avg = avg * 0.98 + loss * 0.02;
    const smooth = avg / (1 - 0.98 ** (i + 1));
    lrs.push(lr);
    losses.push(loss);
    smoothed.push(smooth);
    if (smooth < best) best = smooth;
    if (o.stopDiv && (smooth > 4 * best || !Number.isFinite(smooth))) {
      stopped = 'diverged';
      break;
    }
  }
  const { suggestion, points } = suggestLr(lrs, smoothed, numIt);
  return { lrs, losses, smoothed, stopped, suggestion, points, options: { ...o, numIt } };
}

/**
 * fastai's `lr_find` post-processing: drop the first numIt/10 and the last 5 points and anything
 * from the first NaN, then apply `valley`, `steep` and `minimum`. Null when too few points remain.
 */
export function suggestLr(
  lrs: readonly number[],
  smoothed: readonly number[],
  numIt: number,
): { suggestion: LrSuggestions | null; points: LrFinderResult['points'] } {
  let l = lrs.slice(Math.floor(numIt / 10), Math.max(0, lrs.length - 5));
  let s = smoothed.slice(Math.floor(numIt / 10), Math.max(0, smoothed.length - 5));
  const nan = s.findIndex((v) => Number.isNaN(v));
  if (nan >= 0) {
    l = l.slice(0, nan);
    s = s.slice(0, nan);
  }
  if (l.length < 2) return { suggestion: null, points: {} };
  const v = valley(l, s);
  const st = steep(l, s);
  const m = minimum(l, s);
  return {
    suggestion: { valley: v[0], steep: st[0], minimum: m[0] },
    points: { valley: v, steep: st, minimum: m.slice(1) as [number, number] },
  };
}

/** fastai `valley`: the longest decreasing subsequence of losses, and the point at start + ⌊len/3⌋ + ⌊len/6⌋ (about halfway). */
export function valley(lrs: readonly number[], losses: readonly number[]): [number, number] {
  const n = losses.length;
  let maxStart = 0;
  let maxEnd = 0;
  const lds = new Array<number>(n).fill(1);
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i]! < losses[j]! && lds[i]! < lds[j]! + 1) lds[i] = lds[j]! + 1;
      if (lds[maxEnd]! < lds[i]!) {
        maxEnd = i;
        maxStart = maxEnd - lds[maxEnd]!;
      }
    }
  }
  const sections = (maxEnd - maxStart) / 3;
  const idx = maxStart + Math.trunc(sections) + Math.trunc(sections / 2);
  return [lrs[idx]!, losses[idx]!];
}

/** fastai `steep`: the lr where (Δloss / Δlog lr) is most negative (first of the pair). */
export function steep(lrs: readonly number[], losses: readonly number[]): [number, number] {
  let best = 0;
  let bestGrad = Number.POSITIVE_INFINITY;
  for (let i = 0; i + 1 < lrs.length; i++) {
    const g = (losses[i + 1]! - losses[i]!) / (Math.log(lrs[i + 1]!) - Math.log(lrs[i]!));
    if (g < bestGrad) {
      bestGrad = g;
      best = i;
    }
  }
  return [lrs[best]!, losses[best]!];
}

/** fastai `minimum`: a tenth of the lr at the lowest loss; returns [suggestion, lr at minimum, loss]. */
export function minimum(lrs: readonly number[], losses: readonly number[]): [number, number, number] {
  let idx = 0;
  for (let i = 1; i < losses.length; i++) if (losses[i]! < losses[idx]!) idx = i;
  return [lrs[idx]! / 10, lrs[idx]!, losses[idx]!];
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
