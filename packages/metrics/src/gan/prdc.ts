import { SkinganError } from '@skingan/core';
import { checkPair, type FeatureInput, type FeatureMatrix, toFeatureMatrix } from './feature-matrix.js';
import { rowsOf, squaredDistance } from './linalg.js';

export interface PrdcOptions {
  /** Neighbourhood size of the precision/recall manifolds (Kynkäänniemi et al. 2019 use 3). */
  kPrecisionRecall?: number;
  /** Neighbourhood size of density/coverage (Naeem et al. 2020 use 5). */
  kDensityCoverage?: number;
}

export interface PrdcResult {
  /** Share of generated samples inside the real manifold (fidelity). */
  precision: number;
  /** Share of real samples inside the generated manifold (diversity). */
  recall: number;
  /** Mean number of real k-NN balls holding a generated sample, / k (can exceed 1). */
  density: number;
  /** Share of real samples whose k-NN ball holds at least one generated sample. */
  coverage: number;
  kPrecisionRecall: number;
  kDensityCoverage: number;
  nReal: number;
  nFake: number;
  dim: number;
}

/**
 * Precision and recall for generative models (Kynkäänniemi et al. 2019) and density and coverage
 * (Naeem et al. 2020) in one pass over the real × generated distances, without storing them.
 *
 * A sample's manifold ball has the radius of its k-th nearest neighbour in its own set (itself
 * excluded). Ball membership follows each paper's reference code: precision/recall use the closed
 * ball (distance ≤ radius, NVlabs' `improved-precision-and-recall-metric`), density/coverage the
 * open ball (distance < radius, clovaai's `generative-evaluation-prdc`). They differ only on exact
 * ties, e.g. duplicated images. Distances are Euclidean in float64; O((n_r + n_g)² d) time.
 */
export function prdc(real: FeatureInput, fake: FeatureInput, options: PrdcOptions = {}): PrdcResult {
  const r = toFeatureMatrix(real, 'real features');
  const g = toFeatureMatrix(fake, 'generated features');
  const kPR = checkK(options.kPrecisionRecall ?? 3, 'kPrecisionRecall');
  const kDC = checkK(options.kDensityCoverage ?? 5, 'kDensityCoverage');
  checkPair(r, g, Math.max(kPR, kDC) + 1, 'precision/recall/density/coverage');

  const [radiusR_PR, radiusR_DC] = kthNeighbourRadii(r, [kPR, kDC]);
  const [radiusG_PR] = kthNeighbourRadii(g, [kPR]);

  const realCovered = new Uint8Array(r.rows); // coverage
  const realRecalled = new Uint8Array(r.rows); // recall
  let precise = 0;
  let densitySum = 0;
  const realRows = rowsOf(r);
  const fakeRows = rowsOf(g);
  for (let j = 0; j < g.rows; j++) {
    let inReal = false;
    const rj = radiusG_PR![j]!;
    for (let i = 0; i < r.rows; i++) {
      const d2 = squaredDistance(realRows[i]!, fakeRows[j]!);
      if (d2 <= radiusR_PR![i]!) inReal = true;
      if (d2 < radiusR_DC![i]!) {
        densitySum++;
        realCovered[i] = 1;
      }
      if (d2 <= rj) realRecalled[i] = 1;
    }
    if (inReal) precise++;
  }
  return {
    precision: precise / g.rows,
    recall: realRecalled.reduce((n, v) => n + v, 0) / r.rows,
    density: densitySum / (kDC * g.rows),
    coverage: realCovered.reduce((n, v) => n + v, 0) / r.rows,
    kPrecisionRecall: kPR,
    kDensityCoverage: kDC,
    nReal: r.rows,
    nFake: g.rows,
    dim: r.cols,
  };
}

/**
 * The squared distance from each row to its k-th nearest other row, for each k in `ks`
 * (squared, since only comparisons follow).
 */
function kthNeighbourRadii(m: FeatureMatrix, ks: readonly number[]): Float64Array[] {
  const out = ks.map(() => new Float64Array(m.rows));
  const row = new Float64Array(m.rows - 1);
  const rows = rowsOf(m);
  for (let i = 0; i < m.rows; i++) {
    let c = 0;
    for (let j = 0; j < m.rows; j++) {
      if (j !== i) row[c++] = squaredDistance(rows[i]!, rows[j]!);
    }
    row.sort();
    ks.forEach((k, t) => {
      out[t]![i] = row[k - 1]!;
    });
  }
  return out;
}

function checkK(k: number, name: string): number {
  if (!(Number.isInteger(k) && k >= 1))
    throw new SkinganError(`${name} must be an integer ≥ 1, got ${k}`, { code: 'USAGE' });
  return k;
}
