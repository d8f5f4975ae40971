import type { Verdict } from '../store/store.js';

/**
 * The rater's answer on one 10-point scale of "how synthetic": real with confidence 5 → 1, …, real
 * with 1 → 5, synthetic with 1 → 6, …, synthetic with 5 → 10. The ROC AUC over this score (synthetic
 * as the positive class) is the confidence-weighted AUC of a reader study (0.5 = chance).
 */
export function syntheticScore(verdict: Verdict, confidence: number): number {
  return verdict === 'synthetic' ? 5 + confidence : 6 - confidence;
}
