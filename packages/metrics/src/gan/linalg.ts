import type { FeatureMatrix } from './feature-matrix.js';

// Plain float64 loops over row-major blocks. The hot loops (row dot products) read contiguous
// memory, which in V8 beats ml-matrix's array-of-arrays `mmul` several times over.

/** Column means. */
export function columnMeans(m: FeatureMatrix): Float64Array {
  const { rows, cols, data } = m;
  const mu = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const off = i * cols;
    for (let j = 0; j < cols; j++) mu[j]! += data[off + j]!;
  }
  for (let j = 0; j < cols; j++) mu[j]! /= rows;
  return mu;
}

/** `m` minus its column means, scaled by `scale`. */
export function centered(m: FeatureMatrix, mu: Float64Array, scale = 1): FeatureMatrix {
  const { rows, cols, data } = m;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const off = i * cols;
    for (let j = 0; j < cols; j++) out[off + j] = (data[off + j]! - mu[j]!) * scale;
  }
  return { rows, cols, data: out };
}

/** The rows of `m` as views of its data (no copy), for the loops over pairs of rows. */
export function rowsOf(m: FeatureMatrix): Float64Array[] {
  return Array.from({ length: m.rows }, (_, i) => m.data.subarray(i * m.cols, (i + 1) * m.cols));
}

/** x · y. */
export function dot(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let k = 0; k < x.length; k++) s += x[k]! * y[k]!;
  return s;
}

/** ‖x − y‖², summed over differences (not ‖x‖² + ‖y‖² − 2x·y, which cancels badly near ties). */
export function squaredDistance(x: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let k = 0; k < x.length; k++) {
    const t = x[k]! - y[k]!;
    s += t * t;
  }
  return s;
}

/**
 * `a · bᵀ` (a.rows × b.rows), row-major, each entry through `f` (a kernel of the dot product).
 * `symmetric` (b = a): computes the upper triangle and mirrors it.
 */
export function crossProduct(
  a: FeatureMatrix,
  b: FeatureMatrix,
  f: (dot: number) => number = (d) => d,
  symmetric = false,
): Float64Array {
  const out = new Float64Array(a.rows * b.rows);
  const ar = rowsOf(a);
  const br = rowsOf(b);
  for (let i = 0; i < a.rows; i++) {
    for (let j = symmetric ? i : 0; j < b.rows; j++) {
      const v = f(dot(ar[i]!, br[j]!));
      out[i * b.rows + j] = v;
      if (symmetric) out[j * b.rows + i] = v;
    }
  }
  return out;
}

/**
 * Unbiased covariance (divides by n − 1, as `numpy.cov`), d × d row-major. Accumulated as a sum of
 * outer products of centered rows into the upper triangle, then mirrored.
 */
export function covariance(m: FeatureMatrix, mu: Float64Array = columnMeans(m)): Float64Array {
  const { rows, cols } = m;
  const c = centered(m, mu);
  const cov = new Float64Array(cols * cols);
  const x = c.data;
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    for (let i = 0; i < cols; i++) {
      const xi = x[off + i]!;
      if (xi === 0) continue;
      const ci = i * cols;
      for (let j = i; j < cols; j++) cov[ci + j]! += xi * x[off + j]!;
    }
  }
  const denom = rows - 1;
  for (let i = 0; i < cols; i++) {
    for (let j = i; j < cols; j++) {
      const v = cov[i * cols + j]! / denom;
      cov[i * cols + j] = v;
      cov[j * cols + i] = v;
    }
  }
  return cov;
}
