import { SkinganError } from '@skingan/core';
import { type FeatureInput, selectRows, toFeatureMatrix } from './feature-matrix.js';
import { rowsOf, squaredDistance } from './linalg.js';
import { checkLabels, indicesOf } from './per-class.js';

/** Within-class diversity of one class: generated spread ÷ real spread. */
export interface ClassDiversity {
  class: string;
  nReal: number;
  nGenerated: number;
  /** Mean pairwise Euclidean feature distance among the real images of the class (null: < 2 images). */
  real: number | null;
  /** The same among the generated images of the class. */
  generated: number | null;
  /** generated ÷ real; null when either side has < 2 images or the real images are all identical. */
  ratio: number | null;
  skipped?: string;
}

export interface DiversityResult {
  perClass: ClassDiversity[];
  /** Mean of the ratios over the classes that have one (null: none has). */
  mean: number | null;
  /** The class with the lowest ratio. */
  worst: { class: string; value: number } | null;
}

/**
 * Mean pairwise distance of a feature set: the mean of ‖x_i − x_j‖₂ (Euclidean, on the raw
 * features, no normalisation) over the n(n − 1)/2 unordered pairs i < j. Needs ≥ 2 rows.
 */
export function meanPairwiseDistance(x: FeatureInput): number {
  const m = toFeatureMatrix(x);
  if (m.rows < 2) throw new SkinganError(`mean pairwise distance needs ≥ 2 feature vectors, got ${m.rows}`);
  const rows = rowsOf(m);
  let sum = 0;
  for (let i = 0; i < m.rows; i++) {
    for (let j = i + 1; j < m.rows; j++) sum += Math.sqrt(squaredDistance(rows[i]!, rows[j]!));
  }
  return sum / ((m.rows * (m.rows - 1)) / 2);
}

/**
 * Within-class diversity (mode-collapse measure): for each class c, the mean pairwise Euclidean
 * distance between the extractor's features of the generated images of c, divided by the same for
 * the real images of c (`meanPairwiseDistance`). 1 ≈ as varied as the real class; near 0 = one
 * image repeated. Only classes with ≥ 2 images on both sides get a ratio; `mean` averages those,
 * `worst` is the smallest. The ratio depends on the extractor: name it with the value.
 */
export function withinClassDiversity(
  generated: FeatureInput,
  generatedLabels: readonly number[],
  real: FeatureInput,
  realLabels: readonly number[],
  classes: readonly string[],
): DiversityResult {
  const g = toFeatureMatrix(generated, 'generated features');
  const r = toFeatureMatrix(real, 'real features');
  if (g.rows > 0 && r.rows > 0 && g.cols !== r.cols) {
    throw new SkinganError(`diversity: real features have ${r.cols} dimensions, generated ones ${g.cols}`, {
      hint: 'compute both sets with the same feature extractor',
    });
  }
  checkLabels(generatedLabels, g.rows, classes.length, 'generated');
  checkLabels(realLabels, r.rows, classes.length, 'real');
  const perClass = classes.map((name, c): ClassDiversity => {
    const gi = selectRows(g, indicesOf(generatedLabels, c));
    const ri = selectRows(r, indicesOf(realLabels, c));
    const dg = gi.rows >= 2 ? meanPairwiseDistance(gi) : null;
    const dr = ri.rows >= 2 ? meanPairwiseDistance(ri) : null;
    const entry = { class: name, nReal: ri.rows, nGenerated: gi.rows, real: dr, generated: dg };
    if (dg === null || dr === null) {
      return {
        ...entry,
        ratio: null,
        skipped: `needs ≥ 2 real and ≥ 2 generated images, has ${ri.rows} real and ${gi.rows} generated`,
      };
    }
    if (dr === 0)
      return { ...entry, ratio: null, skipped: 'the real images of this class are all identical' };
    return { ...entry, ratio: dg / dr };
  });
  const rated = perClass.filter((p): p is ClassDiversity & { ratio: number } => p.ratio !== null);
  const mean = rated.length ? rated.reduce((a, p) => a + p.ratio, 0) / rated.length : null;
  let worst: DiversityResult['worst'] = null;
  for (const p of rated) if (!worst || p.ratio < worst.value) worst = { class: p.class, value: p.ratio };
  return { perClass, mean, worst };
}
