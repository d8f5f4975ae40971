import { Rng, SkinganError } from '@skingan/core';
import { quantileSorted } from './quantile.js';

export interface BootstrapOptions {
  /** Resamples (default 2000). */
  resamples?: number;
  /** Two-sided coverage (default 0.95). */
  level?: number;
  /** Seed of core's `Rng`; the same seed and data give the same interval. Default 0. */
  seed?: number | string;
}

/** A point estimate with a percentile-bootstrap interval. */
export interface ConfidenceInterval {
  estimate: number;
  lower: number;
  upper: number;
  level: number;
  resamples: number;
  /**
   * Resamples where the statistic was undefined (NaN, e.g. precision when a resample predicts no
   * image of the class); they are left out of the percentiles.
   */
  undefinedResamples: number;
}

/**
 * Percentile bootstrap over `n` items (test images) for several statistics at once: each resample
 * draws n indices with replacement and passes them to `statistic`, which returns one value per
 * statistic. The estimates are the statistics on the identity resample (all items once).
 */
export function bootstrap(
  n: number,
  statistic: (indices: Int32Array) => readonly number[],
  options: BootstrapOptions = {},
): ConfidenceInterval[] {
  const { resamples, level, seed } = resolveOptions(options);
  if (!(Number.isInteger(n) && n >= 1)) throw new SkinganError(`bootstrap needs at least one item, got ${n}`);
  const identity = Int32Array.from({ length: n }, (_, i) => i);
  const estimates = statistic(identity);
  const draws = estimates.map(() => new Float64Array(resamples));
  const rng = new Rng(seed);
  const idx = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) idx[i] = rng.int(n);
    const values = statistic(idx);
    for (let s = 0; s < draws.length; s++) draws[s]![r] = values[s]!;
  }
  return estimates.map((estimate, s) => percentileInterval(estimate, draws[s]!, level));
}

/** Percentile-bootstrap interval of one statistic. */
export function bootstrapCI(
  n: number,
  statistic: (indices: Int32Array) => number,
  options: BootstrapOptions = {},
): ConfidenceInterval {
  return bootstrap(n, (idx) => [statistic(idx)], options)[0]!;
}

/** The interval from resampled values (NaNs counted and dropped). */
export function percentileInterval(
  estimate: number,
  values: Float64Array,
  level: number,
): ConfidenceInterval {
  const defined = values.filter((v) => !Number.isNaN(v)).sort();
  const alpha = (1 - level) / 2;
  return {
    estimate,
    lower: quantileSorted(defined, alpha),
    upper: quantileSorted(defined, 1 - alpha),
    level,
    resamples: values.length,
    undefinedResamples: values.length - defined.length,
  };
}

function resolveOptions(options: BootstrapOptions): Required<BootstrapOptions> {
  const resamples = options.resamples ?? 2000;
  const level = options.level ?? 0.95;
  if (!(Number.isInteger(resamples) && resamples >= 1)) {
    throw new SkinganError(`bootstrap resamples must be a positive integer, got ${resamples}`, {
      code: 'USAGE',
    });
  }
  if (!(level > 0 && level < 1)) {
    throw new SkinganError(`confidence level must be in (0, 1), got ${level}`, { code: 'USAGE' });
  }
  return { resamples, level, seed: options.seed ?? 0 };
}
