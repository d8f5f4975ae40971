import { SkinganError } from '@skingan/core';
import { studentTQuantile } from './special.js';

/** A metric over repeated training runs (seeds). */
export interface SeedAggregate {
  /** Runs with a defined value (NaN values are left out and counted in `undefinedRuns`). */
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); NaN for a single run. */
  std: number;
  /** Student-t interval of the mean: mean ± t_{(1+level)/2, n−1} · std / √n; NaN for one run. */
  lower: number;
  upper: number;
  level: number;
  undefinedRuns: number;
  values: number[];
}

/**
 * Mean, standard deviation and t-based confidence interval of a metric across seeds. The interval
 * is for the mean over seeds (what "run it again with another seed" would average to), not for a
 * single run.
 */
export function aggregateSeeds(values: readonly number[], options: { level?: number } = {}): SeedAggregate {
  const level = options.level ?? 0.95;
  if (!(level > 0 && level < 1)) {
    throw new SkinganError(`confidence level must be in (0, 1), got ${level}`, { code: 'USAGE' });
  }
  const defined = values.filter((v) => !Number.isNaN(v));
  const n = defined.length;
  const mean = n > 0 ? defined.reduce((a, b) => a + b, 0) / n : Number.NaN;
  const std = n > 1 ? Math.sqrt(defined.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : Number.NaN;
  const half = n > 1 ? (studentTQuantile((1 + level) / 2, n - 1) * std) / Math.sqrt(n) : Number.NaN;
  return {
    n,
    mean,
    std,
    lower: mean - half,
    upper: mean + half,
    level,
    undefinedRuns: values.length - n,
    values: [...values],
  };
}
