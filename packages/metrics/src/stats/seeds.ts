import { SkinganError } from '@skingan/core';
import { studentTCdf, studentTQuantile } from './special.js';

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

/** B − A over paired runs (the same seeds, the same test images): the mean difference and its test. */
export interface PairedSeedDifference extends SeedAggregate {
  /** Paired t statistic: mean / (std / √n); NaN with fewer than two pairs. */
  t: number;
  /**
   * Two-sided p-value of the paired t-test (no difference on average); NaN with fewer than two
   * pairs. Differences without any spread give 1 when all are 0, else 0.
   */
  pValue: number;
}

/**
 * The paired comparison of two rows over seeds: `b[i] − a[i]` for each seed i, summarized as by
 * `aggregateSeeds` (mean ± t interval), with the paired t-test's p. Pairing removes what the runs
 * of a seed share (the test images, the batch order), so it is far narrower than two row intervals
 * compared side by side. Pairs where either value is NaN are left out (counted in `undefinedRuns`).
 */
export function pairedSeedDifference(
  a: readonly number[],
  b: readonly number[],
  options: { level?: number } = {},
): PairedSeedDifference {
  if (a.length !== b.length) {
    throw new SkinganError(`paired runs differ in number: ${a.length} vs ${b.length}`, { code: 'USAGE' });
  }
  const diffs = a.map((x, i) => (Number.isNaN(x) || Number.isNaN(b[i]!) ? Number.NaN : b[i]! - x));
  const agg = aggregateSeeds(diffs, options);
  if (agg.n < 2) return { ...agg, t: Number.NaN, pValue: Number.NaN };
  if (agg.std === 0) {
    return { ...agg, t: agg.mean === 0 ? 0 : Math.sign(agg.mean) * Infinity, pValue: agg.mean === 0 ? 1 : 0 };
  }
  const t = agg.mean / (agg.std / Math.sqrt(agg.n));
  return { ...agg, t, pValue: Math.min(1, 2 * studentTCdf(-Math.abs(t), agg.n - 1)) };
}

/** B − A over two independent sets of runs (different seeds, or different programs). */
export interface WelchDifference {
  a: SeedAggregate;
  b: SeedAggregate;
  /** mean(b) − mean(a). */
  difference: number;
  /** Welch's interval of the difference: difference ± t_{(1+level)/2, df} · se. */
  lower: number;
  upper: number;
  level: number;
  /** Welch–Satterthwaite degrees of freedom (not an integer in general). */
  df: number;
  t: number;
  /** Two-sided p-value of Welch's t-test (equal means, variances not assumed equal). */
  pValue: number;
}

/**
 * The unpaired comparison of two rows over seeds: Welch's t-test and interval for mean(b) − mean(a).
 * For runs that share nothing seed by seed (another program, another split), where
 * `pairedSeedDifference` does not apply. NaN values are left out; with fewer than two runs on a
 * side everything but the difference is NaN.
 */
export function welchDifference(
  a: readonly number[],
  b: readonly number[],
  options: { level?: number } = {},
): WelchDifference {
  const sa = aggregateSeeds(a, options);
  const sb = aggregateSeeds(b, options);
  const difference = sb.mean - sa.mean;
  const nan = Number.NaN;
  const base = { a: sa, b: sb, difference, level: sa.level };
  if (sa.n < 2 || sb.n < 2) return { ...base, lower: nan, upper: nan, df: nan, t: nan, pValue: nan };
  const va = sa.std ** 2 / sa.n;
  const vb = sb.std ** 2 / sb.n;
  const se = Math.sqrt(va + vb);
  if (se === 0) {
    const t = difference === 0 ? 0 : Math.sign(difference) * Infinity;
    return { ...base, lower: difference, upper: difference, df: nan, t, pValue: difference === 0 ? 1 : 0 };
  }
  const df = (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1));
  const half = studentTQuantile((1 + sa.level) / 2, df) * se;
  const t = difference / se;
  return {
    ...base,
    lower: difference - half,
    upper: difference + half,
    df,
    t,
    pValue: Math.min(1, 2 * studentTCdf(-Math.abs(t), df)),
  };
}
