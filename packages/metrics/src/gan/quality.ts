import { type DiversityResult, withinClassDiversity } from './diversity.js';
import { type FeatureInput, toFeatureMatrix } from './feature-matrix.js';
import { fid } from './fid.js';
import { assignedClasses, classFidelity, type FidelityResult } from './fidelity.js';
import { type KidOptions, kid } from './kid.js';

/** One side of a comparison: features (one row per image), class labels, and optionally a classifier's probabilities. */
export interface QualitySet {
  features: FeatureInput;
  /** Class index (into `classes`) of each image. */
  labels: readonly number[];
  /** A fixed classifier's class probabilities per image (columns: `classifierClasses`); enables fidelity. */
  probs?: readonly (readonly number[])[];
}

export interface GanQualityOptions {
  classes: readonly string[];
  /** The feature extractor's name, reported with the figures. */
  extractor: string;
  /** The classifier's name (e.g. its run folder), reported with fidelity. */
  classifier?: string;
  /** The classifier's class columns (default `classes`); mapped to `classes` by name. */
  classifierClasses?: readonly string[];
  kid?: KidOptions;
}

/** What `ganQuality` measures; every figure over the same extractor's features. */
export interface GanQuality {
  extractor: string;
  /** Feature dimensions. */
  dim: number;
  counts: {
    generated: number;
    real: number;
    perClass: { class: string; generated: number; real: number }[];
  };
  /** Fréchet distance between all generated and all real features. */
  fid: number;
  /** KID (unbiased MMD², cubic kernel): mean and std over random subsets. */
  kid: { mean: number; std: number; subsets: number; subsetSize: number };
  /** Within-class diversity, generated ÷ real (see `withinClassDiversity`). */
  diversity: DiversityResult;
  /** Class fidelity (see `classFidelity`): only when the generated set has classifier probabilities. */
  fidelity?: FidelityResult & { classifier: string | null };
}

/**
 * The quality figures of a generated image set against a real one: FID and KID over all images,
 * within-class diversity per class (mean and worst), and, when the sets carry a fixed classifier's
 * probabilities, class fidelity (generated, and real for reference when its probabilities are given).
 */
export function ganQuality(generated: QualitySet, real: QualitySet, options: GanQualityOptions): GanQuality {
  const { classes } = options;
  const g = toFeatureMatrix(generated.features, 'generated features');
  const r = toFeatureMatrix(real.features, 'real features');
  const f = fid(r, g);
  const k = kid(r, g, options.kid);
  const diversity = withinClassDiversity(g, generated.labels, r, real.labels, classes);
  const quality: GanQuality = {
    extractor: options.extractor,
    dim: r.cols,
    counts: {
      generated: g.rows,
      real: r.rows,
      perClass: diversity.perClass.map((d) => ({ class: d.class, generated: d.nGenerated, real: d.nReal })),
    },
    fid: f.fid,
    kid: { mean: k.kid, std: k.std, subsets: k.subsets, subsetSize: k.subsetSize },
    diversity,
  };
  if (generated.probs) {
    const from = options.classifierClasses ?? classes;
    const classified = (s: QualitySet) => ({
      labels: s.labels,
      predicted: assignedClasses(s.probs!, from, classes),
    });
    quality.fidelity = {
      ...classFidelity(classified(generated), real.probs ? classified(real) : undefined, classes),
      classifier: options.classifier ?? null,
    };
  }
  return quality;
}
