import { SkinganError } from '@skingan/core';

/** Feature vectors as one row-major float64 block: row i is `data[i*cols .. (i+1)*cols)`. */
export interface FeatureMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** Anything the GAN metrics accept as features: a `FeatureMatrix` or one array per image. */
export type FeatureInput = FeatureMatrix | readonly (ArrayLike<number> & { readonly length: number })[];

function isFeatureMatrix(x: FeatureInput): x is FeatureMatrix {
  return !Array.isArray(x) && (x as FeatureMatrix).data instanceof Float64Array;
}

/**
 * Converts features to a float64 `FeatureMatrix` (a FeatureMatrix is returned as is). Every row must
 * have the same length and only finite values: a NaN feature would make every metric NaN silently.
 */
export function toFeatureMatrix(x: FeatureInput, what = 'features'): FeatureMatrix {
  if (isFeatureMatrix(x)) {
    if (x.data.length !== x.rows * x.cols) {
      throw new SkinganError(`${what}: data has ${x.data.length} values, expected ${x.rows}×${x.cols}`);
    }
    return x;
  }
  const rows = x.length;
  const cols = rows > 0 ? x[0]!.length : 0;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const r = x[i]!;
    if (r.length !== cols) {
      throw new SkinganError(`${what}: row ${i} has ${r.length} values, row 0 has ${cols}`);
    }
    for (let j = 0; j < cols; j++) data[i * cols + j] = r[j]!;
  }
  return checkFinite({ rows, cols, data }, what);
}

/** Throws a SkinganError naming the first row with a NaN or infinite value. */
export function checkFinite(m: FeatureMatrix, what = 'features'): FeatureMatrix {
  for (let k = 0; k < m.data.length; k++) {
    if (!Number.isFinite(m.data[k]!)) {
      throw new SkinganError(`${what}: row ${Math.floor(k / m.cols)} has a non-finite value (${m.data[k]})`, {
        hint: 'check the feature extractor and the images it was given',
      });
    }
  }
  return m;
}

/** The rows at `indices` (in that order; repeats allowed), as a new matrix. */
export function selectRows(m: FeatureMatrix, indices: ArrayLike<number>): FeatureMatrix {
  const out = new Float64Array(indices.length * m.cols);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i]!;
    if (!(r >= 0 && r < m.rows)) throw new RangeError(`row index ${r} out of range [0, ${m.rows})`);
    out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
  }
  return { rows: indices.length, cols: m.cols, data: out };
}

/** Rows as plain arrays (for JSON, tests). */
export function toRows(m: FeatureMatrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

/** Stacks matrices with the same number of columns. */
export function concatRows(parts: readonly FeatureMatrix[]): FeatureMatrix {
  if (parts.length === 0) return { rows: 0, cols: 0, data: new Float64Array(0) };
  const cols = parts[0]!.cols;
  let rows = 0;
  for (const p of parts) {
    if (p.cols !== cols) throw new SkinganError(`cannot stack features of width ${p.cols} and ${cols}`);
    rows += p.rows;
  }
  const data = new Float64Array(rows * cols);
  let off = 0;
  for (const p of parts) {
    data.set(p.data, off);
    off += p.data.length;
  }
  return { rows, cols, data };
}

/** Requires equal widths and at least `minRows` rows in each set; names the set that fails. */
export function checkPair(real: FeatureMatrix, fake: FeatureMatrix, minRows: number, metric: string): void {
  if (real.cols !== fake.cols) {
    throw new SkinganError(
      `${metric}: real features have ${real.cols} dimensions, generated ones ${fake.cols}`,
      { hint: 'compute both sets with the same feature extractor' },
    );
  }
  for (const [m, name] of [
    [real, 'real'],
    [fake, 'generated'],
  ] as const) {
    if (m.rows < minRows) {
      throw new SkinganError(`${metric}: needs at least ${minRows} ${name} images, got ${m.rows}`);
    }
  }
}
