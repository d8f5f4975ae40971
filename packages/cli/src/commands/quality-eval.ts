import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ImageClassifier } from '@skingan/classifier';
import {
  type Batch,
  type EvalConfig,
  type EvalPoint,
  type Evaluation,
  isSkinganError,
  Rng,
  type Sample,
  SkinganError,
  type TrainingObserver,
} from '@skingan/core';
import { loadImages } from '@skingan/data';
import {
  type GenerateForClass,
  loadFeatureExtractor,
  QualityProbe,
  resnet50WeightsDir,
} from '@skingan/metrics';
import * as tf from '@tensorflow/tfjs';
import type { Command } from 'commander';
import { addOptions } from '../options.js';
import { readMetricsJsonl } from '../report/run-report.js';

// How `acgan train` and `cyclegan train` measure their generator while training: one probe
// (@skingan/metrics' QualityProbe) built here from the run's `eval` config, called by the trainers'
// `evaluate` hook; its figures go to metrics.jsonl as `eval` records and its warnings to stderr.

/** The `--eval-*` flags of the training commands. */
export interface EvalFlags {
  evalEvery?: number;
  evalPerClass?: number;
  evalExtractor?: string;
  evalClassifier?: string;
}

export function addEvalOptions(cmd: Command): Command {
  return addOptions(cmd, [
    [
      '--eval-every <n>',
      'measure FID, KID, within-class diversity (and fidelity with --eval-classifier) every n epochs; 0: never (default 1)',
      'int',
    ],
    ['--eval-per-class <n>', 'images generated per class at each evaluation (default 6)', 'int'],
    [
      '--eval-extractor <which>',
      'feature network of the evaluations: auto (resnet50 when its weights are cached, except with the test preset; else test), resnet50, test, or a model folder (default auto)',
    ],
    [
      '--eval-classifier <run>',
      'classifier run folder for class fidelity in the evaluations (default: none, fidelity not measured)',
    ],
  ]);
}

/** The flags as overrides of the config's `eval` block. */
export function evalOverrides(opts: EvalFlags): Partial<EvalConfig> {
  return {
    ...(opts.evalEvery !== undefined ? { every: opts.evalEvery } : {}),
    ...(opts.evalPerClass !== undefined ? { perClass: opts.evalPerClass } : {}),
    ...(opts.evalExtractor !== undefined ? { extractor: opts.evalExtractor } : {}),
    ...(opts.evalClassifier !== undefined ? { classifier: resolve(opts.evalClassifier) } : {}),
  };
}

/** At most `limit` samples of each class, drawn with a seeded shuffle, in their original order. */
export function limitPerClass(
  samples: readonly Sample[],
  limit: number | undefined,
  seed: number | string,
): Sample[] {
  if (limit === undefined) return [...samples];
  const taken = new Map<number, number>();
  const keep = new Set<Sample>();
  for (const s of new Rng(`${seed}:per-class-limit`).shuffle(samples)) {
    const n = taken.get(s.label) ?? 0;
    if (n < limit) {
      keep.add(s);
      taken.set(s.label, n + 1);
    }
  }
  return samples.filter((s) => keep.has(s));
}

export interface TrainingProbe {
  probe: QualityProbe;
  /** The trainers' `evaluate` hook, within the time budget (undefined: skipped to stay in it). */
  evaluate(generate: GenerateForClass, at: EvalPoint): Promise<Evaluation | undefined>;
  dispose(): void;
}

/**
 * Keeps evaluations under a share of the wall time: one that is due runs when the last one took
 * at most maxShare / (1 − maxShare) of the training time since it ended (so evaluations take at most
 * `maxShare` of the time, the last duration standing in for the next), and always when it is the
 * first or the final one. `now` is injectable for tests.
 */
export class EvalBudget {
  private lastEnd: number;
  private lastMs: number | undefined;

  constructor(
    readonly maxShare: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastEnd = now();
  }

  allows(final: boolean): boolean {
    if (final || this.maxShare >= 1 || this.lastMs === undefined) return true;
    const trained = this.now() - this.lastEnd;
    return this.lastMs <= (this.maxShare / (1 - this.maxShare)) * trained;
  }

  /** Records an evaluation that started at `start` (a `now()` value) and has just ended. */
  done(start: number): void {
    this.lastEnd = this.now();
    this.lastMs = this.lastEnd - start;
  }

  /** How long the last evaluation took, in ms. */
  get last(): number | undefined {
    return this.lastMs;
  }
}

/**
 * The probe of a training run: the extractor ('auto': the ResNet-50 when cached, else the test
 * network, with a notice; always the test network for the `test` preset), the classifier when named, and the features of the fixed real sample
 * (`eval.realPerClass` training images per class, seeded by the run's seed, at `imageSize`, the
 * generator's size, so that real and generated images are resized to the extractor alike).
 */
export async function createTrainingProbe(options: {
  eval: EvalConfig;
  /** The config's preset: 'auto' picks the test network for the `test` preset. */
  preset: string;
  seed: number;
  classes: readonly string[];
  samples: readonly Sample[];
  imageSize: number;
  log: (line: string) => void;
  /** On --resume: the run folder and the step it continues from, whose earlier FIDs the rise check counts. */
  resume?: { dir: string; step: number };
}): Promise<TrainingProbe | undefined> {
  const e = options.eval;
  if (e.every === 0) return undefined;
  // FID and diversity need two real images; a run on fewer (an experiment's smallest α share of a
  // tiny set) still trains, without evaluations, rather than failing over its measuring aid.
  const real = limitPerClass(options.samples, e.realPerClass, `${options.seed}:eval-real`);
  if (real.length < 2) {
    options.log(
      `eval: off for this run: it has ${real.length} real training image${real.length === 1 ? '' : 's'} to compare with; at least 2 are needed`,
    );
    return undefined;
  }
  let which = e.extractor;
  if (which === 'auto') {
    // The `test` preset's runs are smoke tests of a few seconds: the ResNet-50 would dominate them.
    const cached = existsSync(join(resnet50WeightsDir(), 'model.json'));
    which = cached && options.preset !== 'test' ? 'resnet50' : 'test';
    if (which === 'test' && options.preset !== 'test') {
      options.log(
        'eval: the ImageNet ResNet-50 is not cached (skingan weights fetch resnet50-imagenet): evaluating with the small test network, whose FID and diversity show trends and collapse but mean nothing perceptually',
      );
    }
  }
  const started = Date.now();
  const extractor = await loadFeatureExtractor(which).catch((err) => {
    // Its message names --extractor, the flag of the metrics commands.
    if (isSkinganError(err) && err.code === 'USAGE') {
      throw new SkinganError(err.message.replace(/^--extractor/, '--eval-extractor'), {
        code: 'USAGE',
        hint: err.hint,
      });
    }
    throw err;
  });
  let classifier: ImageClassifier | undefined;
  try {
    classifier = e.classifier ? await ImageClassifier.load(e.classifier) : undefined;
    options.log(
      `eval: features of ${real.length} real training images (once per run) with ${extractor.name}…`,
    );
    const probe = await QualityProbe.create({
      extractor,
      classes: options.classes,
      real: batchesOf(real, options.imageSize),
      perClass: e.perClass,
      ...(classifier ? { classifier, classifierName: e.classifier! } : {}),
    });
    if (options.resume && options.resume.step > 0) {
      const earlier = (await readMetricsJsonl(join(options.resume.dir, 'metrics.jsonl'))).filter(
        (r) => r.type === 'eval' && typeof r.step === 'number' && r.step <= options.resume!.step,
      );
      probe.remember(earlier.map((r) => r.fid).filter((f): f is number => typeof f === 'number'));
    }
    const counts = probe.realCounts;
    options.log(
      `eval: every ${e.every} epoch${e.every > 1 ? 's' : ''}, ${e.perClass} generated images per class against ${real.length} real training images (${options.classes.map((c, i) => `${c} ${counts[i]}`).join(', ')}); features: ${extractor.name}; fidelity: ${classifier ? e.classifier : 'not measured (no --eval-classifier)'}; real features took ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    const budget = new EvalBudget(e.maxShare);
    let skipNoted = false;
    return {
      probe,
      async evaluate(generate, at) {
        if (!budget.allows(at.final)) {
          if (!skipNoted) {
            skipNoted = true;
            options.log(
              `eval: skipping evaluations due at epoch ${at.epoch + 1} and later while they would take over ${Math.round(100 * e.maxShare)}% of the time (the last took ${((budget.last ?? 0) / 1000).toFixed(1)} s; eval.maxShare, eval.perClass)`,
            );
          }
          return undefined;
        }
        const start = performance.now();
        const { record, warnings } = await probe.evaluate(generate);
        budget.done(start);
        return { figures: record, warnings };
      },
      dispose() {
        extractor.dispose();
        classifier?.dispose();
      },
    };
  } catch (err) {
    extractor.dispose();
    classifier?.dispose();
    throw err;
  }
}

/**
 * Prints each evaluation (one line: FID, KID, diversity, fidelity, its time, and that time as a
 * share of the training time since the previous evaluation) and its warnings.
 */
export function evalPrinter(say: (line: string) => void, warn: (line: string) => void): TrainingObserver {
  let since = performance.now();
  let trainedMs = 0;
  return {
    onEpoch() {
      trainedMs = performance.now() - since;
    },
    onEval(e) {
      const f = e.figures as Record<string, number | string | null>;
      const num = (v: unknown, d = 2) => (typeof v === 'number' ? v.toFixed(d) : '—');
      const share =
        trainedMs > 0
          ? `, ${Math.round((100 * e.elapsedMs) / trainedMs)}% of the training time since the last one`
          : '';
      say(
        `eval (epoch ${e.epoch + 1}): FID ${num(f.fid, 1)}  KID ${num(f.kid, 4)}  diversity ${num(f.diversityMean)} (worst ${f.diversityWorstClass ?? '—'} ${num(f.diversityWorst)})` +
          `${f.fidelity !== undefined ? `  fidelity ${num(f.fidelity)} (real sample ${num(f.fidelityReal)})` : ''}  [${(e.elapsedMs / 1000).toFixed(1)} s${share}]`,
      );
      for (const w of e.warnings) warn(`warning: ${w} (epoch ${e.epoch + 1})`);
      since = performance.now();
    },
  };
}

/**
 * Labelled batches of `samples` at `size`² (no shuffling, no augmentation). An image that cannot be
 * decoded is left out, as training leaves it out (its warning is the training's).
 */
async function* batchesOf(samples: readonly Sample[], size: number, batchSize = 32): AsyncGenerator<Batch> {
  for (let start = 0; start < samples.length; start += batchSize) {
    let part = samples.slice(start, start + batchSize);
    let images = await loadImages(part, size).catch(() => undefined);
    if (!images) {
      // One image failed: decode one at a time and keep those that decode (each decoded once).
      const singles = await Promise.all(part.map((s) => loadImages([s], size).catch(() => undefined)));
      part = part.filter((_, i) => singles[i]);
      const kept = singles.filter((t): t is tf.Tensor4D => t !== undefined);
      if (!kept.length) continue;
      images = tf.concat(kept);
      tf.dispose(kept);
    }
    yield {
      images,
      labels: tf.tensor1d(
        part.map((s) => s.label),
        'int32',
      ),
      ids: part.map((s) => s.id),
    };
  }
}
