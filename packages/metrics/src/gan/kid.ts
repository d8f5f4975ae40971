import { Rng, SkinganError } from '@skingan/core';
import { checkPair, type FeatureInput, type FeatureMatrix, toFeatureMatrix } from './feature-matrix.js';
import { crossProduct, dot, rowsOf } from './linalg.js';

export interface KidOptions {
  /** Number of random subsets (default 100, as clean-fid and torch-fidelity). */
  subsets?: number;
  /** Largest subset size; the size used is min(this, n_real, n_generated). Default 1000. */
  subsetSize?: number;
  /** Seed of the subset draws (core's `Rng`); the same seed gives the same value. Default 0. */
  seed?: number | string;
}

export interface KidResult {
  /** Mean of the per-subset unbiased MMD² estimates. */
  kid: number;
  /** Their standard deviation (population, ddof = 0, as torch-fidelity reports it). */
  std: number;
  /** The per-subset estimates. */
  values: number[];
  subsets: number;
  subsetSize: number;
  nReal: number;
  nFake: number;
  dim: number;
}

/** Row indices of one subset pair. */
export interface KidSubset {
  real: readonly number[];
  fake: readonly number[];
}

// Past this many entries (~128 MB of float64) a kernel block (real×real, generated×generated or
// real×generated) is computed per subset instead of once: with 8,000 generated and 673 real rows
// only the generated block is, and the two others stay cached.
const MAX_CACHED_KERNEL_ENTRIES = 16 * 1024 * 1024;

/**
 * Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD² between real and generated
 * features under the cubic polynomial kernel k(x, y) = (xᵀy / d + 1)³, averaged over random subsets
 * drawn without replacement, as in clean-fid and torch-fidelity.
 */
export function kid(real: FeatureInput, fake: FeatureInput, options: KidOptions = {}): KidResult {
  const r = toFeatureMatrix(real, 'real features');
  const g = toFeatureMatrix(fake, 'generated features');
  checkPair(r, g, 2, 'KID');
  const count = options.subsets ?? 100;
  const maxSize = options.subsetSize ?? 1000;
  if (!(Number.isInteger(count) && count >= 1)) {
    throw new SkinganError(`KID: subsets must be a positive integer, got ${count}`, { code: 'USAGE' });
  }
  if (!(Number.isInteger(maxSize) && maxSize >= 2)) {
    throw new SkinganError(`KID: subset size must be an integer ≥ 2, got ${maxSize}`, { code: 'USAGE' });
  }
  const m = Math.min(maxSize, r.rows, g.rows);
  const rng = new Rng(options.seed ?? 0);
  const subsets: KidSubset[] = [];
  for (let s = 0; s < count; s++) {
    subsets.push({
      real: sampleWithoutReplacement(rng, r.rows, m),
      fake: sampleWithoutReplacement(rng, g.rows, m),
    });
  }
  return kidFromSubsets(r, g, subsets);
}

/**
 * KID over given subsets (for reproducing another implementation's draws exactly). Each subset's
 * real and generated parts may differ in size; each needs at least 2 rows.
 */
export function kidFromSubsets(
  real: FeatureInput,
  fake: FeatureInput,
  subsets: readonly KidSubset[],
): KidResult {
  const r = toFeatureMatrix(real, 'real features');
  const g = toFeatureMatrix(fake, 'generated features');
  checkPair(r, g, 2, 'KID');
  if (subsets.length === 0) throw new SkinganError('KID: no subsets given', { code: 'USAGE' });
  const kernel = polynomialKernel(r.cols);
  const rr = kernelBlock(r, r, kernel, true);
  const gg = kernelBlock(g, g, kernel, true);
  const rg = kernelBlock(r, g, kernel, false);
  const values = subsets.map((s) => {
    if (s.real.length < 2 || s.fake.length < 2)
      throw new SkinganError('KID: every subset needs ≥ 2 rows per set');
    return mmd2(rr, gg, rg, s.real, s.fake);
  });
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length);
  return {
    kid: mean,
    std,
    values,
    subsets: subsets.length,
    subsetSize: subsets[0]!.real.length,
    nReal: r.rows,
    nFake: g.rows,
    dim: r.cols,
  };
}

/** Unbiased MMD² between two whole feature sets under the KID kernel. */
export function polynomialMmd2(x: FeatureInput, y: FeatureInput): number {
  const a = toFeatureMatrix(x, 'x');
  const b = toFeatureMatrix(y, 'y');
  checkPair(a, b, 2, 'MMD²');
  const k = polynomialKernel(a.cols);
  const ia = range(a.rows);
  const ib = range(b.rows);
  // Each block used once: computed pair by pair, not cached.
  const block = (p: FeatureMatrix, q: FeatureMatrix, upper: boolean) => kernelBlock(p, q, k, upper, false);
  return mmd2(block(a, a, true), block(b, b, true), block(a, b, false), ia, ib);
}

type Kernel = (dot: number) => number;

function polynomialKernel(d: number): Kernel {
  return (dot) => {
    const t = dot / d + 1;
    return t * t * t;
  };
}

/** One block of kernel values k(a_i, b_j), summed over the pairs of two index lists. */
interface KernelBlock {
  a: FeatureMatrix;
  b: FeatureMatrix;
  k: Kernel;
  /** b = a: only pairs i < j of one list count. */
  upper: boolean;
  /** All a.rows × b.rows values, row-major, where they fit in memory. */
  values?: Float64Array;
}

/** `cache`: compute all values up front, where they fit in memory (blocks that many subsets read). */
function kernelBlock(
  a: FeatureMatrix,
  b: FeatureMatrix,
  k: Kernel,
  upper: boolean,
  cache = true,
): KernelBlock {
  const fits = a.rows * b.rows <= MAX_CACHED_KERNEL_ENTRIES;
  return { a, b, k, upper, ...(cache && fits ? { values: crossProduct(a, b, k, upper) } : {}) };
}

/** Σ k(a_si[p], b_sj[q]) over all p, q, or over p < q for an `upper` block. */
function blockSum(block: KernelBlock, si: readonly number[], sj: readonly number[]): number {
  const { a, b, k, upper, values } = block;
  const ar = values ? undefined : rowsOf(a);
  const br = values ? undefined : rowsOf(b);
  let sum = 0;
  for (let p = 0; p < si.length; p++) {
    const i = si[p]!;
    for (let q = upper ? p + 1 : 0; q < sj.length; q++) {
      sum += values ? values[i * b.rows + sj[q]!]! : k(dot(ar![i]!, br![sj[q]!]!));
    }
  }
  return sum;
}

/** (Σ_{i≠j} k(x_i,x_j))/(m(m−1)) + (Σ_{i≠j} k(y_i,y_j))/(n(n−1)) − 2 Σ k(x_i,y_j)/(mn). */
function mmd2(
  xx: KernelBlock,
  yy: KernelBlock,
  xy: KernelBlock,
  si: readonly number[],
  sj: readonly number[],
): number {
  const m = si.length;
  const n = sj.length;
  return (
    (2 * blockSum(xx, si, si)) / (m * (m - 1)) +
    (2 * blockSum(yy, sj, sj)) / (n * (n - 1)) -
    (2 * blockSum(xy, si, sj)) / (m * n)
  );
}

/** `m` distinct indices of [0, n) in random order (partial Fisher–Yates). */
function sampleWithoutReplacement(rng: Rng, n: number, m: number): number[] {
  const idx = range(n);
  for (let i = 0; i < m; i++) {
    const j = i + rng.int(n - i);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, m);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
