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

// Past this many kernel entries (~128 MB of float64) the kernel matrices are computed per subset.
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
  const cache =
    r.rows * r.rows + g.rows * g.rows + r.rows * g.rows <= MAX_CACHED_KERNEL_ENTRIES
      ? {
          rr: crossProduct(r, r, kernel, true),
          gg: crossProduct(g, g, kernel, true),
          rg: crossProduct(r, g, kernel),
        }
      : undefined;
  const values = subsets.map((s) => {
    if (s.real.length < 2 || s.fake.length < 2)
      throw new SkinganError('KID: every subset needs ≥ 2 rows per set');
    return cache
      ? mmd2FromKernels(cache.rr, r.rows, cache.gg, g.rows, cache.rg, s.real, s.fake)
      : mmd2Direct(r, g, s.real, s.fake, kernel);
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
  return mmd2Direct(a, b, range(a.rows), range(b.rows), polynomialKernel(a.cols));
}

type Kernel = (dot: number) => number;

function polynomialKernel(d: number): Kernel {
  return (dot) => {
    const t = dot / d + 1;
    return t * t * t;
  };
}

/** (Σ_{i≠j} k(x_i,x_j))/(m(m−1)) + (Σ_{i≠j} k(y_i,y_j))/(n(n−1)) − 2 Σ k(x_i,y_j)/(mn). */
function mmd2FromKernels(
  rr: Float64Array,
  nr: number,
  gg: Float64Array,
  ng: number,
  rg: Float64Array,
  si: readonly number[],
  sj: readonly number[],
): number {
  const m = si.length;
  const n = sj.length;
  let xx = 0;
  for (let a = 0; a < m; a++) {
    const off = si[a]! * nr;
    for (let b = a + 1; b < m; b++) xx += rr[off + si[b]!]!;
  }
  let yy = 0;
  for (let a = 0; a < n; a++) {
    const off = sj[a]! * ng;
    for (let b = a + 1; b < n; b++) yy += gg[off + sj[b]!]!;
  }
  let xy = 0;
  for (let a = 0; a < m; a++) {
    const off = si[a]! * ng;
    for (let b = 0; b < n; b++) xy += rg[off + sj[b]!]!;
  }
  return (2 * xx) / (m * (m - 1)) + (2 * yy) / (n * (n - 1)) - (2 * xy) / (m * n);
}

function mmd2Direct(
  x: FeatureMatrix,
  y: FeatureMatrix,
  si: readonly number[],
  sj: readonly number[],
  k: Kernel,
): number {
  const m = si.length;
  const n = sj.length;
  const xr = rowsOf(x);
  const yr = rowsOf(y);
  let xx = 0;
  for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) xx += k(dot(xr[si[a]!]!, xr[si[b]!]!));
  let yy = 0;
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) yy += k(dot(yr[sj[a]!]!, yr[sj[b]!]!));
  let xy = 0;
  for (let a = 0; a < m; a++) for (let b = 0; b < n; b++) xy += k(dot(xr[si[a]!]!, yr[sj[b]!]!));
  return (2 * xx) / (m * (m - 1)) + (2 * yy) / (n * (n - 1)) - (2 * xy) / (m * n);
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
