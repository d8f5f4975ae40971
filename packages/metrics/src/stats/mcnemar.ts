import { SkinganError } from '@skingan/core';
import { binomialHalfCdf, logBinomialHalfPmf } from './special.js';

export interface McNemarResult {
  /** Pairs where A is right and B is wrong. */
  b: number;
  /** Pairs where A is wrong and B is right. */
  c: number;
  /** Exact conditional two-sided p-value: 2·P(X ≤ min(b, c)), X ~ Bin(b + c, ½), capped at 1. */
  pValue: number;
  /** Mid-p variant (Fagerland et al. 2013): the exact p-value minus P(X = min(b, c)). */
  midP: number;
}

/**
 * McNemar's exact test from the discordant counts: under H0 (equal accuracy) each discordant pair
 * favours A or B with probability ½. With b = c the exact p-value is 1.
 */
export function mcnemarExact(b: number, c: number): McNemarResult {
  for (const [v, name] of [
    [b, 'b'],
    [c, 'c'],
  ] as const) {
    if (!(Number.isInteger(v) && v >= 0))
      throw new SkinganError(`McNemar: ${name} must be a count ≥ 0, got ${v}`);
  }
  const n = b + c;
  if (n === 0) return { b, c, pValue: 1, midP: 1 };
  const k = Math.min(b, c);
  const pmf = Math.exp(logBinomialHalfPmf(k, n));
  if (b === c) return { b, c, pValue: 1, midP: 1 - 0.5 * pmf };
  const pValue = Math.min(1, 2 * binomialHalfCdf(k, n));
  return { b, c, pValue, midP: pValue - pmf };
}

/** McNemar's exact test for two classifiers' predictions of the same test images. */
export function mcnemarTest(
  labels: readonly number[],
  predictionsA: ArrayLike<number>,
  predictionsB: ArrayLike<number>,
): McNemarResult {
  if (predictionsA.length !== labels.length || predictionsB.length !== labels.length) {
    throw new SkinganError(
      `McNemar: ${labels.length} labels, ${predictionsA.length} and ${predictionsB.length} predictions`,
      { hint: 'both classifiers must predict the same test images, in the same order' },
    );
  }
  let b = 0;
  let c = 0;
  for (let i = 0; i < labels.length; i++) {
    const a = predictionsA[i] === labels[i];
    const bb = predictionsB[i] === labels[i];
    if (a && !bb) b++;
    else if (!a && bb) c++;
  }
  return mcnemarExact(b, c);
}
