import { binomialHalfCdf } from '@skingan/metrics';

export interface Proportion {
  /** Successes. */
  k: number;
  n: number;
  /** k / n; NaN when n = 0. */
  value: number;
  /** Wilson score interval; NaN bounds when n = 0. */
  lower: number;
  upper: number;
}

/** Two-sided standard normal quantile for the 95% level. */
const Z95 = 1.959963984540054;

/**
 * k / n with its Wilson score interval (Wilson 1927): unlike the Wald interval it stays inside
 * [0, 1] and keeps close to nominal coverage for the small n and extreme k of a reader study.
 */
export function wilson(k: number, n: number, z = Z95): Proportion {
  if (!(Number.isInteger(k) && Number.isInteger(n) && k >= 0 && k <= n)) {
    throw new RangeError(`a proportion needs integers 0 ≤ k ≤ n, got k = ${k}, n = ${n}`);
  }
  if (n === 0) return { k, n, value: Number.NaN, lower: Number.NaN, upper: Number.NaN };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Exact at the edges (the formula gives 0 and 1 up to rounding).
  return {
    k,
    n,
    value: p,
    lower: k === 0 ? 0 : Math.max(0, centre - half),
    upper: k === n ? 1 : Math.min(1, centre + half),
  };
}

/**
 * Exact two-sided binomial test of k successes in n against p = ½ (chance, for real vs synthetic):
 * 2·P(X ≤ min(k, n − k)), X ~ Bin(n, ½), capped at 1 (the symmetric null makes this the same as
 * summing every outcome as unlikely as k). 1 when n = 0.
 */
export function binomialTestHalf(k: number, n: number): number {
  if (n === 0) return 1;
  return Math.min(1, 2 * binomialHalfCdf(Math.min(k, n - k), n));
}
