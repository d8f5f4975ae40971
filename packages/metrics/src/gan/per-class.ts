import { SkinganError } from '@skingan/core';
import { type FeatureInput, type FeatureMatrix, selectRows, toFeatureMatrix } from './feature-matrix.js';

/** One class of a per-class GAN metric: real class c against generated class c. */
export interface PerClassValue<T> {
  class: string;
  nReal: number;
  nFake: number;
  /** null when either side has fewer than `minRows` images (`skipped` says why). */
  value: T | null;
  skipped?: string;
}

export interface PerClassOptions {
  /** Classes with fewer images on either side are skipped (default 2). */
  minRows?: number;
}

/**
 * Runs `metric` on each class separately: the real rows labelled c against the generated rows
 * labelled c. Labels index `classes`.
 *
 *   perClass(realF, realLabels, fakeF, fakeLabels, ISIC2019.classes, (r, g) => fid(r, g).fid)
 */
export function perClass<T>(
  real: FeatureInput,
  realLabels: readonly number[],
  fake: FeatureInput,
  fakeLabels: readonly number[],
  classes: readonly string[],
  metric: (real: FeatureMatrix, fake: FeatureMatrix) => T,
  options: PerClassOptions = {},
): PerClassValue<T>[] {
  const r = toFeatureMatrix(real, 'real features');
  const g = toFeatureMatrix(fake, 'generated features');
  checkLabels(realLabels, r.rows, classes.length, 'real');
  checkLabels(fakeLabels, g.rows, classes.length, 'generated');
  const minRows = options.minRows ?? 2;
  return classes.map((name, c) => {
    const ri = indicesOf(realLabels, c);
    const gi = indicesOf(fakeLabels, c);
    const counts = { class: name, nReal: ri.length, nFake: gi.length };
    if (ri.length < minRows || gi.length < minRows) {
      return {
        ...counts,
        value: null,
        skipped: `needs ≥ ${minRows} real and generated images, has ${ri.length} real and ${gi.length} generated`,
      };
    }
    return { ...counts, value: metric(selectRows(r, ri), selectRows(g, gi)) };
  });
}

/** The rows labelled `c`. */
export function indicesOf(labels: readonly number[], c: number): number[] {
  const out: number[] = [];
  labels.forEach((l, i) => {
    if (l === c) out.push(i);
  });
  return out;
}

/** Labels must be class indices in [0, k), one per feature row. */
export function checkLabels(labels: readonly number[], rows: number, k: number, what: string): void {
  if (labels.length !== rows) {
    throw new SkinganError(`${what}: ${labels.length} labels for ${rows} feature rows`);
  }
  labels.forEach((l, i) => {
    if (!(Number.isInteger(l) && l >= 0 && l < k)) {
      throw new SkinganError(`${what}: label ${l} of row ${i} is not a class index in [0, ${k})`);
    }
  });
}
