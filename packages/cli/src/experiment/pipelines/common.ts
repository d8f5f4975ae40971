import { ISIC2019 } from '@skingan/core';
import type { SplitPart } from '@skingan/data';
import type { ExperimentConfig } from '../config.js';
import type { DataKeys } from '../data-keys.js';
import type { Job } from '../job.js';

/** A training set of the results table: its row label and the synthetic folder(s) added to real data. */
export interface TrainingSet {
  /** Row label in tables, e.g. `acgan-250` or `α=0.25 N=500`. */
  label: string;
  /** File-system-safe id for job folders, e.g. `acgan-250` or `a0.25-n500`. */
  slug: string;
  /** Job ids whose `{out}/data` folder is added to the real training images (none: ISIC-0). */
  addJobs: string[];
  /** Table coordinates, e.g. { kind: 'acgan', n: 250 } or { alpha: 0.25, n: 500 }. */
  coords: Record<string, string | number>;
  /** A real-data baseline row (`ExperimentConfig.baselines`): the classifier setting it adds to ISIC-0. */
  baseline?: Baseline;
  /**
   * Sets of one source share images (acgan-250 ⊂ acgan-1000): the fast path extracts their
   * features one set after another (`headFeatureJobs`), so no image is extracted twice at once.
   */
  source?: string;
}

export type Baseline = ExperimentConfig['baselines'][number];

/** The real-only baseline every other row is compared with. */
export const ISIC0: TrainingSet = { label: 'ISIC-0', slug: 'isic-0', addJobs: [], coords: {} };

/** Row labels of the baselines, as the tables print them. */
const BASELINE_LABELS: Readonly<Record<Baseline, string>> = {
  augment: 'real + augmentation',
  oversample: 'real + oversampling',
};

/** The job id of the fast path's augmented views (`data augment`), in a plan or a fold's plan. */
const AUGMENT_VIEWS = 'augment-views';

/**
 * The configured baseline rows: real data only, the classifier with one setting more than ISIC-0.
 * With heads (`classifier.method` "head"), which train on stored features and cannot augment on the
 * fly, the `augment` row adds the features of augmented views of the train images written as files
 * (`augmentViewsJob`, pushed onto `jobs`).
 */
export function baselineSets(
  jobs: Job[],
  data: string[],
  config: ExperimentConfig,
  keys: DataKeys,
  coords: Record<string, number | string>,
  classes?: readonly string[],
): TrainingSet[] {
  return config.baselines.map((b) => {
    const views = b === 'augment' && config.classifier.method === 'head';
    if (views) jobs.push(augmentViewsJob(data, config, keys, classes));
    return {
      label: BASELINE_LABELS[b],
      slug: `real-${b}`,
      addJobs: views ? [AUGMENT_VIEWS] : [],
      coords,
      baseline: b,
    };
  });
}

/**
 * `classifier.augmentViews` augmented views of each train image (`skingan data augment`, the
 * augmentations of `classifier train --augment`) at the heads' decode size, seeded by the
 * experiment seed. A view depends on its image alone, so the job is keyed by the train part's
 * content: the views of an image are the same files in every fold, and their stored features too.
 */
function augmentViewsJob(
  data: string[],
  config: ExperimentConfig,
  keys: DataKeys,
  classes?: readonly string[],
): Job {
  const c = config.classifier;
  return {
    id: AUGMENT_VIEWS,
    stage: 'data',
    args: [
      'data',
      'augment',
      ...data,
      '--split',
      '{job:split}/split.json',
      '--part',
      'train',
      '--views',
      String(c.augmentViews),
      '--seed',
      String(config.seed),
      '--size',
      String(c.size),
      ...(classes ? classesFlag(classes) : []),
      '--out',
      '{out}/data',
    ],
    deps: ['split'],
    inputs: { train: keys.part('train', classes) },
    keyDeps: [],
  };
}

/** The fast path's job that stores the features of the experiment's real images, every part. */
export const REAL_FEATURES = 'features/real';

/**
 * `skingan features extract` of folders into the heads' store ($SKINGAN_CACHE): its own job, so
 * that a set's images are extracted once before its heads start, not by each of its 20 heads at
 * once (with `--jobs 2` two heads used to extract the same images side by side). The vectors live
 * outside the job folder and are a function of the image bytes, so no result depends on this job:
 * the heads wait for it (`deps`) without it entering their keys.
 */
function featuresJob(id: string, folders: string[], config: ExperimentConfig, deps: string[]): Job {
  const c = config.classifier;
  return {
    id,
    stage: 'features',
    args: [
      'features',
      'extract',
      ...folders,
      '--extractor',
      c.extractor,
      ...(c.inputSize !== undefined ? ['--input-size', String(c.inputSize)] : []),
      '--size',
      String(c.size),
      '--json',
    ],
    deps,
    stdoutFile: 'features.json',
  };
}

/** The id of the job that extracts a synthetic set's features: `features/<source>/<slug>`. */
export function featuresJobId(set: Pick<TrainingSet, 'slug' | 'source'>): string {
  return `features/${set.source ? `${set.source}/` : ''}${set.slug}`;
}

/**
 * The feature jobs a head of `set` waits for, added to `jobs` on first use: the real images'
 * (`REAL_FEATURES`, keyed by the data's content) and, for a set with synthetic folders, one job of
 * those folders after the previous set of the same `source`.
 */
function headFeatureJobs(
  jobs: Job[],
  data: string[],
  config: ExperimentConfig,
  keys: DataKeys,
  set: TrainingSet,
): string[] {
  const has = (id: string) => jobs.some((j) => j.id === id);
  if (!has(REAL_FEATURES)) {
    jobs.push({ ...featuresJob(REAL_FEATURES, data, config, []), inputs: { data: keys.data } });
  }
  if (!set.addJobs.length) return [REAL_FEATURES];
  const id = featuresJobId(set);
  if (!has(id)) {
    const chain = set.source && `features/${set.source}/`;
    const before = chain ? jobs.filter((j) => j.id.startsWith(chain)).at(-1)?.id : undefined;
    const folders = set.addJobs.map((j) => `{job:${j}}/data`);
    jobs.push({
      ...featuresJob(id, folders, config, [...set.addJobs, ...(before ? [before] : [])]),
      keyDeps: set.addJobs,
    });
  }
  return [REAL_FEATURES, id];
}

/** ISIC-0 of a plan's sets: real data only and no baseline setting (undefined if not planned). */
export function realOnlySet(sets: readonly TrainingSet[]): TrainingSet | undefined {
  return sets.find((s) => s.addJobs.length === 0 && !s.baseline);
}

/** One trained classifier: its set, its seed, and the job that writes its predictions CSV. */
export interface ClassifierCell {
  set: TrainingSet;
  seed: number;
  /** The fold of a K-fold plan (`config.folds` ≥ 2) it was trained and tested in; absent: one split. */
  fold?: number;
  trainJob: string;
  predictJob: string;
  /** The predictions CSV inside the predict job's folder (default `predictions.csv`). */
  predictions?: string;
}

/** How the experiment's split is made: by image, or by lesion from metadata files (names). */
export type SplitRule = { by: 'image' } | { by: 'lesion_id'; metadata: string[] };

/** The job graph of an experiment and how its outputs become tables. */
export interface ExperimentPlan {
  kind: 'noise2img' | 'nv2mel';
  /** The split rule (absent in experiments planned before splits by lesion: those were by image). */
  split?: SplitRule;
  jobs: Job[];
  sets: TrainingSet[];
  cells: ClassifierCell[];
  /** noise2img: FID/KID jobs per synthetic kind (stdout JSON), one per fold in a K-fold plan. */
  ganMetricJobs: { kind: string; metric: 'fid' | 'kid'; job: string; fold?: number }[];
  /** Sample-sheet sources for the report: job id → grid label. */
  sampleJobs: { label: string; job: string }[];
}

/**
 * The split reads the labels of all input data and, where the data has lesion metadata
 * (`keys.lesions`), splits by lesion: the metadata's content is then part of its key. Keys of one
 * fold (`keys.fold`) make that fold's split.
 */
export function splitJob(data: string[], config: ExperimentConfig, keys: DataKeys): Job {
  const f = config.fractions;
  return {
    id: 'split',
    stage: 'split',
    args: [
      'data',
      'split',
      ...data,
      '--seed',
      String(config.seed),
      '--fractions',
      `${f.train},${f.val},${f.test}`,
      ...(keys.lesions ? ['--group-by', 'lesion_id'] : []),
      ...(keys.fold ? ['--folds', String(keys.fold.count), '--fold', String(keys.fold.index)] : []),
      '--out',
      '{out}/split.json',
    ],
    deps: [],
    inputs: { data: keys.data, ...(keys.lesions ? { lesions: keys.lesions.hash } : {}) },
  };
}

/** "networks (classifier preset cpu, 64²), 5 seeds a row" or "linear heads on resnet50 features …". */
export function describeClassifiers(
  config: Pick<ExperimentConfig, 'classifier' | 'repeats' | 'folds'> &
    Partial<Pick<ExperimentConfig, 'baselines'>>,
): string {
  const c = config.classifier;
  const r = config.repeats;
  const k = config.folds ?? 1; // absent in experiments made before folds
  const seeds =
    k > 1
      ? `${k * r} runs a row (${k} folds × ${r} seed${r === 1 ? '' : 's'})`
      : `${r} seed${r === 1 ? '' : 's'} a row`;
  // Absent in experiments made before the heads' augmented views (heads then had no augment row).
  const views = config.baselines?.includes('augment')
    ? `; real + augmentation adds ${c.augmentViews} augmented view${c.augmentViews === 1 ? '' : 's'} of each train image`
    : '';
  return c.method === 'head'
    ? `linear heads on ${c.extractor}${c.inputSize ? ` at ${c.inputSize}²` : ''} features of the images decoded at ${c.size}² (the fast path, \`classifier head\`), ${seeds}${views}`
    : `networks (\`classifier train\`, preset ${c.preset}, ${c.size}²${c.pretrained ? `, from ${c.pretrained}` : ''}), ${seeds}`;
}

/**
 * A warning when the classifiers read images larger than the generators make them: the synthetic
 * images are then upsampled, blurrier than the real ones, and a classifier can learn the blur
 * instead of the lesion (the thesis' 128² ACGAN beside its 224² classifiers did this).
 */
export function sizeMismatch(
  kind: ExperimentPlan['kind'],
  config: Pick<ExperimentConfig, 'classifier' | 'acgan' | 'cyclegan'>,
): string | undefined {
  const made = generatedSize(kind, config);
  if (config.classifier.size <= made) return undefined;
  return `the classifiers read images at ${config.classifier.size}², the generators make them at ${made}²: synthetic images are upsampled (blurrier than the real ones), which a classifier can tell apart; set classifier.size to ${made} to compare like with like`;
}

/** The side every synthetic image of a plan exists at: noise2img's ACGAN and CycleGAN, nv2mel's CycleGAN. */
export function generatedSize(
  kind: ExperimentPlan['kind'],
  config: Pick<ExperimentConfig, 'acgan' | 'cyclegan'>,
): number {
  return kind === 'noise2img' ? Math.min(config.acgan.size, config.cyclegan.size) : config.cyclegan.size;
}

/** The split rule of a plan made with `keys`. */
export function splitRule(keys: DataKeys): SplitRule {
  return keys.lesions ? { by: 'lesion_id', metadata: keys.lesions.files } : { by: 'image' };
}

/**
 * "by lesion (ham10000_metadata.csv), seed 7", "by image, 5 folds, seed 7", for reports and logs.
 */
export function describeSplit(rule: SplitRule | undefined, seed: number, folds = 1): string {
  const by = rule?.by === 'lesion_id' ? `by lesion (${rule.metadata.join(', ')})` : 'by image';
  return `${by}${folds > 1 ? `, ${folds} folds` : ''}, seed ${seed}`;
}

/**
 * `skingan data subset`: a dataset folder of links to chosen images of other folders. A part of
 * the experiment's split (`split` + `keys`) is keyed by that part's content, not by the split job.
 */
export function subsetJob(
  id: string,
  stage: string,
  sources: string[],
  options: {
    split?: { part: SplitPart; keys: DataKeys };
    classes?: string[];
    perClass?: number;
    /** With `perClass`: draw the n at random with this seed (`data subset --seed`). */
    seed?: number;
    deps?: string[];
  },
): Job {
  const args = ['data', 'subset', ...sources, '--out', '{out}/data'];
  if (options.split) args.push('--split', '{job:split}/split.json', '--part', options.split.part);
  if (options.classes) args.push('--classes', options.classes.join(','));
  if (options.perClass !== undefined) args.push('--per-class', String(options.perClass));
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  const deps = [...new Set([...(options.deps ?? []), ...(options.split ? ['split'] : [])])];
  if (!options.split) return { id, stage, args, deps };
  const { part, keys } = options.split;
  return {
    id,
    stage,
    args,
    deps,
    inputs: { [part]: keys.part(part, options.classes) },
    keyDeps: deps.filter((d) => d !== 'split'),
  };
}

/**
 * One cell of the results table: a classifier trained on real train (+ the set's synthetic
 * folders), chosen on val, and the test part's predictions. Keyed by the content of the parts each
 * job reads. `method` defaults to the config's:
 * - `network`: a network trained per cell (`classifier train`), then its test predictions
 *   (`classifier predict`).
 * - `head`, the fast path: one `classifier head` job that trains on the stored features, chooses on
 *   val and writes the test part's predictions. Its features live in the shared store
 *   ($SKINGAN_CACHE), outside the job: a vector is a function of the image bytes and the extractor,
 *   so reusing it across jobs cannot make a result stale.
 */
export function classifierJobs(
  data: string[],
  config: ExperimentConfig,
  keys: DataKeys,
  set: TrainingSet,
  seed: number,
  classes?: readonly string[],
  method = config.classifier.method,
): { jobs: Job[]; cell: ClassifierCell } {
  const c = config.classifier;
  const head = method === 'head';
  const trainId = `${head ? 'head' : 'classifier'}/${set.slug}/seed-${seed}`;
  const args = [
    'classifier',
    head ? 'head' : 'train',
    ...dataFlags(data),
    ...(head ? ['--extractor', c.extractor] : ['--preset', c.preset]),
    ...(head && c.inputSize !== undefined ? ['--input-size', String(c.inputSize)] : []),
    '--size',
    String(c.size),
    '--seed',
    String(seed),
    // ISIC-0 is the plain head; the oversampling baseline's head counts every class equally.
    ...(head ? ['--balance', set.baseline === 'oversample' ? 'weights' : 'none'] : []),
    '--out',
    head ? '{out}/head' : '{out}/run',
    ...(set.addJobs.length ? ['--add', ...set.addJobs.map((j) => `{job:${j}}/data`)] : []),
    ...(classes ? classesFlag(classes) : []),
    ...(c.epochs !== undefined ? ['--epochs', String(c.epochs)] : []),
  ];
  const train: Job = {
    id: trainId,
    stage: 'classifier',
    args,
    deps: ['split', ...set.addJobs],
    inputs: {
      train: keys.part('train', classes),
      val: keys.part('val', classes),
      ...(head ? { test: keys.part('test', classes) } : {}),
    },
    keyDeps: set.addJobs,
  };
  if (head) {
    return {
      jobs: [train],
      cell: { set, seed, trainJob: trainId, predictJob: trainId, predictions: 'head/predictions.csv' },
    };
  }
  if (c.pretrained) args.push('--pretrained', c.pretrained);
  if (c.freezeEpochs !== undefined) args.push('--freeze-epochs', String(c.freezeEpochs));
  args.push(c.augment || set.baseline === 'augment' ? '--augment' : '--no-augment');
  if (set.baseline === 'oversample') args.push('--balance', 'sampler');
  train.resumeFlag = '--resume';
  const predict: Job = {
    id: `predict/${set.slug}/seed-${seed}`,
    stage: 'evaluate',
    args: [
      'classifier',
      'predict',
      '--model',
      `{job:${trainId}}/run`,
      ...dataFlags(data),
      '--part',
      'test',
      '--out',
      '{out}/predictions.csv',
    ],
    deps: [trainId, 'split'],
    // All classes: predict reads the test part of --data with the model's classes.
    inputs: { test: keys.part('test') },
    keyDeps: [trainId],
  };
  return { jobs: [train, predict], cell: { set, seed, trainJob: trainId, predictJob: predict.id } };
}

/**
 * The cells of a set, one per classifier seed (`classifierSeeds`); their jobs are added to `jobs`,
 * with, for heads, the feature jobs they wait for (`headFeatureJobs`).
 */
export function setCells(
  jobs: Job[],
  data: string[],
  config: ExperimentConfig,
  keys: DataKeys,
  set: TrainingSet,
  classes?: readonly string[],
): ClassifierCell[] {
  const features = config.classifier.method === 'head' ? headFeatureJobs(jobs, data, config, keys, set) : [];
  return classifierSeeds(config).map((seed) => {
    const r = classifierJobs(data, config, keys, set, seed, classes);
    r.jobs[0]!.deps.push(...features);
    jobs.push(...r.jobs);
    return r.cell;
  });
}

/** What a job that reads the experiment's data and split is given: `--data … --split split.json`. */
export function dataFlags(data: string[]): string[] {
  return ['--data', ...data, '--split', '{job:split}/split.json'];
}

/** A GAN's training flags from its section of the config (`acgan`, `cyclegan`), the run in `{out}/run`. */
export function ganTrainFlags(
  g: { preset: string; size: number; epochs: number },
  config: ExperimentConfig,
): string[] {
  return [
    '--preset',
    g.preset,
    '--size',
    String(g.size),
    '--epochs',
    String(g.epochs),
    '--seed',
    String(config.seed),
    // The training evaluations use the experiment's feature network, as its FID/KID jobs do.
    '--eval-extractor',
    config.extractor,
    '--out',
    '{out}/run',
  ];
}

/** Seeds of the repeated classifiers: distinct, derived from the experiment seed. */
export function classifierSeeds(config: ExperimentConfig): number[] {
  return Array.from({ length: config.repeats }, (_, i) => config.seed * 1000 + i);
}

/** `--classes A,B,…` when the data holds only some of the 8 ISIC 2019 classes (none otherwise). */
export function classesFlag(classes: readonly string[]): string[] {
  return classes.length < ISIC2019.classes.length ? ['--classes', classes.join(',')] : [];
}

/** One CycleGAN between the `data` folders of two jobs (A = `aJob`, B = `bJob`). */
export function cycleganTrainJob(
  id: string,
  aJob: string,
  bJob: string,
  config: ExperimentConfig,
  cyclegan: { preset: string; size: number; epochs: number } = config.cyclegan,
): Job {
  return {
    id,
    stage: 'cyclegan',
    args: [
      'cyclegan',
      'train',
      '--a',
      `{job:${aJob}}/data`,
      '--b',
      `{job:${bJob}}/data`,
      ...ganTrainFlags(cyclegan, config),
    ],
    deps: [aJob, bJob],
    resumeFlag: '--resume',
  };
}

/** Translates the `from` images of a job's `data` folder A → B, labelling them `to`. */
export function translateJob(id: string, modelJob: string, dataJob: string, from: string, to: string): Job {
  return {
    id,
    stage: 'cyclegan',
    args: [
      'cyclegan',
      'translate',
      '--model',
      `{job:${modelJob}}/run`,
      '--direction',
      'a2b',
      '--data',
      `{job:${dataJob}}/data`,
      '--class',
      from,
      '--label',
      to,
      '--out',
      '{out}/data',
    ],
    deps: [modelJob, dataJob],
  };
}
