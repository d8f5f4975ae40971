import type { Batch, FeatureExtractor, ProbabilisticClassifier } from '@skingan/core';
import { SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { extractFeatures, predictProbabilities } from './extract.js';
import { concatRows, type FeatureMatrix } from './feature-matrix.js';
import type { KidOptions } from './kid.js';
import { type GanQuality, ganQuality } from './quality.js';

/** Draws `n` images of class `classIndex` (NHWC in [-1, 1]); the probe disposes them. */
export type GenerateForClass = (classIndex: number, n: number) => tf.Tensor4D | Promise<tf.Tensor4D>;

export interface QualityProbeOptions {
  extractor: FeatureExtractor;
  classes: readonly string[];
  /**
   * The fixed real sample (e.g. a few dozen training images per class), as batches; their features
   * (and classifier probabilities) are computed once in `create`, and the batches disposed.
   */
  real: Iterable<Batch> | AsyncIterable<Batch>;
  /** Images generated per class at each evaluation (default 16). */
  perClass?: number;
  /** A fixed classifier for class fidelity (none: fidelity is left out). */
  classifier?: ProbabilisticClassifier;
  /** Its name in the records (e.g. the run folder). */
  classifierName?: string;
  /** A class whose diversity falls under this is reported as mode collapse (default 0.5). */
  collapseBelow?: number;
  /** FID rising at this many evaluations in a row is reported (default 3). */
  fidRises?: number;
  /** KID subsets (default 100 subsets of min(1000, n_real, n_generated)). */
  kid?: KidOptions;
  /** Images per forward pass (default 32). */
  batchSize?: number;
}

export interface ProbeEvaluation {
  quality: GanQuality;
  /** The figures as flat fields, for metrics.jsonl (see `qualityRecord`). */
  record: Record<string, unknown>;
  /** "mode collapse: class VASC diversity 0.31", "FID rose for 3 evaluations in a row: …". */
  warnings: string[];
}

/**
 * Measures a generator during training: each `evaluate` draws `perClass` images of every class
 * that has real images in the sample,
 * computes `ganQuality` against the real sample fixed at `create` (its features cached), and
 * warns on mode collapse or a rising FID. The same probe serves any generator: the caller says
 * how to draw images of a class (an ACGAN's noise + label, a CycleGAN's translation of fixed images).
 */
export class QualityProbe {
  readonly perClass: number;
  private readonly fids: number[] = [];

  private constructor(
    private readonly options: QualityProbeOptions,
    private readonly real: { features: FeatureMatrix; labels: number[]; probs?: number[][] },
  ) {
    this.perClass = options.perClass ?? 16;
  }

  static async create(options: QualityProbeOptions): Promise<QualityProbe> {
    const perClass = options.perClass ?? 16;
    if (!(Number.isInteger(perClass) && perClass >= 2)) {
      throw new SkinganError(`quality probe: images per class must be an integer ≥ 2, got ${perClass}`, {
        code: 'USAGE',
      });
    }
    const real = measuredSet(options);
    for await (const batch of options.real) {
      try {
        await real.add(batch.images, await batch.labels.data());
      } finally {
        tf.dispose([batch.images, batch.labels]);
      }
    }
    if (real.labels.length < 2) {
      throw new SkinganError(
        `quality probe: the real sample has ${real.labels.length} images; at least 2 are needed`,
      );
    }
    return new QualityProbe(options, real.done());
  }

  /** Real images per class in the sample. */
  get realCounts(): number[] {
    const n = this.options.classes.map(() => 0);
    for (const l of this.real.labels) n[l]!++;
    return n;
  }

  /** FIDs of earlier evaluations (a resumed run's), oldest first, so the rise check spans attempts. */
  remember(fids: readonly number[]): void {
    this.fids.push(...fids.filter((f) => Number.isFinite(f)));
  }

  async evaluate(generate: GenerateForClass): Promise<ProbeEvaluation> {
    const { options } = this;
    const generated = measuredSet(options);
    const realCounts = this.realCounts;
    for (let c = 0; c < options.classes.length; c++) {
      // A class without real images has nothing to be compared with (and would only inflate FID).
      if (realCounts[c] === 0) continue;
      const images = await generate(c, this.perClass);
      try {
        await generated.add(images, new Array<number>(images.shape[0]).fill(c));
      } finally {
        images.dispose();
      }
    }
    const quality = ganQuality(generated.done(), this.real, {
      classes: options.classes,
      extractor: options.extractor.name,
      ...(options.classifierName ? { classifier: options.classifierName } : {}),
      ...(options.classifier ? { classifierClasses: options.classifier.labelSpace.classes } : {}),
      ...(options.kid ? { kid: options.kid } : {}),
    });
    this.fids.push(quality.fid);
    return {
      quality,
      record: qualityRecord(quality),
      warnings: qualityWarnings(quality, this.fids, {
        collapseBelow: options.collapseBelow ?? 0.5,
        fidRises: options.fidRises ?? 3,
      }),
    };
  }
}

/** Features (and the classifier's probabilities, when there is one) of labelled images, gathered batch by batch. */
function measuredSet(o: QualityProbeOptions) {
  const batching = o.batchSize ? { batchSize: o.batchSize } : {};
  const parts: FeatureMatrix[] = [];
  const labels: number[] = [];
  const probs: number[][] = [];
  return {
    labels,
    async add(images: tf.Tensor4D, imageLabels: ArrayLike<number>): Promise<void> {
      parts.push(await extractFeatures(o.extractor, images, batching));
      if (o.classifier) probs.push(...(await predictProbabilities(o.classifier, images, batching)));
      labels.push(...Array.from(imageLabels));
    },
    done: () => ({ features: concatRows(parts), labels, ...(o.classifier ? { probs } : {}) }),
  };
}

/**
 * The figures as flat fields (what a training run appends to metrics.jsonl with `type: "eval"`):
 * fid, kid, kidStd, diversityMean, diversityWorst, diversityWorstClass, diversity (per class),
 * fidelity / fidelityReal / fidelityPerClass when measured, extractor, classifier, generated, real.
 */
export function qualityRecord(q: GanQuality): Record<string, unknown> {
  const record: Record<string, unknown> = {
    fid: q.fid,
    kid: q.kid.mean,
    kidStd: q.kid.std,
    diversityMean: q.diversity.mean,
    diversityWorst: q.diversity.worst?.value ?? null,
    diversityWorstClass: q.diversity.worst?.class ?? null,
    diversity: Object.fromEntries(q.diversity.perClass.map((d) => [d.class, d.ratio])),
  };
  if (q.fidelity) {
    record.fidelity = q.fidelity.balanced;
    record.fidelityReal = q.fidelity.realBalanced;
    record.fidelityPerClass = Object.fromEntries(q.fidelity.perClass.map((f) => [f.class, f.generated]));
    record.classifier = q.fidelity.classifier;
  }
  record.extractor = q.extractor;
  record.generated = q.counts.generated;
  record.real = q.counts.real;
  return record;
}

/**
 * Warnings for a new evaluation: the classes whose diversity is under `collapseBelow` (one line
 * naming each with its value), and a FID
 * that rose at each of the last `fidRises` evaluations (`fids`: every FID so far, the new one last).
 */
export function qualityWarnings(
  q: GanQuality,
  fids: readonly number[],
  options: { collapseBelow: number; fidRises: number },
): string[] {
  const warnings: string[] = [];
  const low = q.diversity.perClass.filter(
    (d): d is typeof d & { ratio: number } => d.ratio !== null && d.ratio < options.collapseBelow,
  );
  if (low.length === 1) {
    warnings.push(`mode collapse: class ${low[0]!.class} diversity ${low[0]!.ratio.toFixed(2)}`);
  } else if (low.length > 1) {
    warnings.push(
      `mode collapse: diversity under ${options.collapseBelow} in ${low.length} classes: ${low.map((d) => `${d.class} ${d.ratio.toFixed(2)}`).join(', ')}`,
    );
  }
  const k = options.fidRises;
  if (k > 0 && fids.length > k) {
    const last = fids.slice(-(k + 1));
    if (last.every((f, i) => i === 0 || f > last[i - 1]!)) {
      warnings.push(`FID rose for ${k} evaluations in a row: ${last.map((f) => f.toFixed(1)).join(' → ')}`);
    }
  }
  return warnings;
}
