import { SkinganError } from '@skingan/core';
import { EigenvalueDecomposition, Matrix, SingularValueDecomposition } from 'ml-matrix';
import { checkPair, type FeatureInput, type FeatureMatrix, toFeatureMatrix } from './feature-matrix.js';
import { centered, columnMeans, covariance, crossProduct } from './linalg.js';

/** Mean and unbiased covariance (d × d, row-major) of a feature set: what FID compares. */
export interface GaussianStats {
  readonly n: number;
  readonly dim: number;
  readonly mean: Float64Array;
  readonly cov: Float64Array;
}

export interface FidResult {
  /** ‖μ_r − μ_g‖² + tr Σ_r + tr Σ_g − 2 tr (Σ_r Σ_g)^½. */
  fid: number;
  /** ‖μ_r − μ_g‖². */
  meanTerm: number;
  /** tr Σ_r + tr Σ_g − 2 tr (Σ_r Σ_g)^½. */
  covarianceTerm: number;
  nReal: number;
  nFake: number;
  dim: number;
}

/** Mean and covariance of a feature set (needs at least 2 rows). */
export function featureStatistics(x: FeatureInput): GaussianStats {
  const m = toFeatureMatrix(x);
  if (m.rows < 2) throw new SkinganError(`covariance needs at least 2 feature vectors, got ${m.rows}`);
  const mean = columnMeans(m);
  return { n: m.rows, dim: m.cols, mean, cov: covariance(m, mean) };
}

/**
 * Fréchet distance between the Gaussians fitted to two feature sets (FID when the features are
 * Inception's; the name of the extractor belongs with the value).
 *
 * How tr (Σ_r Σ_g)^½ is computed, in float64: write each covariance as Σ = FᵀF. The nonzero
 * eigenvalues of Σ_r Σ_g = F_rᵀ F_r F_gᵀ F_g are those of (F_r F_gᵀ)(F_r F_gᵀ)ᵀ, so the trace of the
 * square root is the sum of the singular values of F_r F_gᵀ (its nuclear norm). That needs no
 * non-symmetric square root (scipy's `sqrtm` can return complex round-off) and is exact for the
 * rank-deficient covariances of sets with fewer images than dimensions. Each factor F is either the
 * centered data / √(n − 1) (n × d, no decomposition at all) or V·diag(√λ) from the symmetric
 * eigendecomposition of Σ (d × d), with the tiny negative eigenvalues that round-off gives a PSD
 * matrix clamped to 0; `chooseFactors` picks the cheaper combination. Both are exact, so the choice
 * changes only the time: seconds for a few hundred images at d = 2048, minutes for thousands.
 */
export function fid(real: FeatureInput, fake: FeatureInput): FidResult {
  const r = toFeatureMatrix(real, 'real features');
  const g = toFeatureMatrix(fake, 'generated features');
  checkPair(r, g, 2, 'FID');
  return fidWithFactors(r, g, chooseFactors(r.rows, g.rows, r.cols));
}

/** `fid` with the factorization of each side given (for tests: every choice gives the same value). */
export function fidWithFactors(
  r: FeatureMatrix,
  g: FeatureMatrix,
  [eigR, eigG]: [boolean, boolean],
): FidResult {
  const muR = columnMeans(r);
  const muG = columnMeans(g);
  const fr = eigR ? covarianceFactor(covariance(r, muR), r.cols) : dataFactor(r, muR);
  const fg = eigG ? covarianceFactor(covariance(g, muG), g.cols) : dataFactor(g, muG);
  return assemble(muR, muG, fr, fg, r.rows, g.rows);
}

/** FID from precomputed statistics (e.g. cached for a real test set). */
export function frechetDistance(a: GaussianStats, b: GaussianStats): FidResult {
  if (a.dim !== b.dim) {
    throw new SkinganError(`FID: statistics have ${a.dim} and ${b.dim} dimensions`, {
      hint: 'compute both with the same feature extractor',
    });
  }
  return assemble(a.mean, b.mean, covarianceFactor(a.cov, a.dim), covarianceFactor(b.cov, b.dim), a.n, b.n);
}

function assemble(
  muR: Float64Array,
  muG: Float64Array,
  fr: FeatureMatrix,
  fg: FeatureMatrix,
  nReal: number,
  nFake: number,
): FidResult {
  let meanTerm = 0;
  for (let j = 0; j < muR.length; j++) meanTerm += (muR[j]! - muG[j]!) ** 2;
  const covarianceTerm = sumSquares(fr) + sumSquares(fg) - 2 * traceSqrtProduct(fr, fg);
  return { fid: meanTerm + covarianceTerm, meanTerm, covarianceTerm, nReal, nFake, dim: muR.length };
}

// Rough relative costs (measured with ml-matrix): a symmetric eigendecomposition of d × d ≈ 1.3 SVDs
// of d × d; an SVD of m × n ≈ min(m, n)² · max(m, n); the factor product ≈ 0.1 · r1 · r2 · d.
const svdCost = (m: number, n: number) => Math.min(m, n) ** 2 * Math.max(m, n);
const evdCost = (d: number) => 1.3 * d ** 3;

/** Whether to factor each covariance by eigendecomposition (true) or take the centered data (false). */
export function chooseFactors(nReal: number, nFake: number, d: number): [boolean, boolean] {
  let best: [boolean, boolean] = [false, false];
  let bestCost = Number.POSITIVE_INFINITY;
  for (const eigR of [false, true]) {
    for (const eigG of [false, true]) {
      const r1 = eigR ? d : nReal;
      const r2 = eigG ? d : nFake;
      const cost = (eigR ? evdCost(d) : 0) + (eigG ? evdCost(d) : 0) + svdCost(r1, r2) + 0.1 * r1 * r2 * d;
      if (cost < bestCost) {
        bestCost = cost;
        best = [eigR, eigG];
      }
    }
  }
  return best;
}

/** tr ΣΣ' ^½ = nuclear norm of F F'ᵀ for Σ = FᵀF, Σ' = F'ᵀF'. */
function traceSqrtProduct(f1: FeatureMatrix, f2: FeatureMatrix): number {
  if (f1.rows === 0 || f2.rows === 0) return 0;
  const prod = crossProduct(f1, f2);
  const rows: Float64Array[] = [];
  for (let i = 0; i < f1.rows; i++) rows.push(prod.subarray(i * f2.rows, (i + 1) * f2.rows));
  const svd = new SingularValueDecomposition(new Matrix(rows), {
    computeLeftSingularVectors: false,
    computeRightSingularVectors: false,
    autoTranspose: true,
  });
  let sum = 0;
  for (const s of svd.diagonal) sum += Math.max(s, 0);
  return sum;
}

/** Σ = FᵀF with F = centered rows / √(n − 1). */
function dataFactor(x: FeatureMatrix, mu: Float64Array): FeatureMatrix {
  return centered(x, mu, 1 / Math.sqrt(x.rows - 1));
}

/** Σ = FᵀF with the rows of F = √λ_k v_kᵀ over the positive eigenvalues of the symmetric Σ. */
function covarianceFactor(cov: Float64Array, d: number): FeatureMatrix {
  const rows: Float64Array[] = [];
  for (let i = 0; i < d; i++) {
    const row = new Float64Array(d);
    for (let j = 0; j < d; j++) row[j] = 0.5 * (cov[i * d + j]! + cov[j * d + i]!);
    rows.push(row);
  }
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const lambda = evd.realEigenvalues;
  const v = evd.eigenvectorMatrix;
  // Round-off turns the zero eigenvalues of a rank-deficient Σ into ±d·ε·λ_max; a positive one would
  // add a spurious √(ε)-sized factor row, so everything under numpy's matrix_rank tolerance is zero.
  let max = 0;
  for (const l of lambda) max = Math.max(max, l);
  const tol = max * d * Number.EPSILON;
  const keep: number[] = [];
  for (let k = 0; k < d; k++) if (lambda[k]! > tol) keep.push(k);
  const data = new Float64Array(keep.length * d);
  keep.forEach((k, r) => {
    const s = Math.sqrt(lambda[k]!);
    for (let i = 0; i < d; i++) data[r * d + i] = s * v.get(i, k);
  });
  return { rows: keep.length, cols: d, data };
}

function sumSquares(m: FeatureMatrix): number {
  let s = 0;
  for (let k = 0; k < m.data.length; k++) s += m.data[k]! * m.data[k]!;
  return s;
}
