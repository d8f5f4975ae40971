import { ISIC2019 } from '@skingan/core';
import type { ExperimentConfig } from '../config.js';
import type { DataKeys } from '../data-keys.js';
import type { Job } from '../job.js';
import {
  baselineSets,
  classesFlag,
  cycleganTrainJob,
  dataFlags,
  type ExperimentPlan,
  featuresJobId,
  ganTrainFlags,
  generatedSize,
  ISIC0,
  REAL_FEATURES,
  setCells,
  splitJob,
  splitRule,
  subsetJob,
  type TrainingSet,
  translateJob,
} from './common.js';

/**
 * Thesis ch. 6: split → ACGAN on the train split (all classes) → one CycleGAN per class (ACGAN
 * images of class c ↔ real train images of class c) → N ACGAN images per class and their CycleGAN
 * translations → classifiers on real (ISIC-0), the configured real-data baselines (real + classic
 * augmentation, real + oversampling), real + acgan-N, real + cyclegan-N → the same test ids.
 * Sets are nested: acgan-250 ⊂ acgan-500 ⊂ …, and cyclegan-N translates exactly acgan-N's images.
 */
export function noise2imgPlan(
  data: string[],
  config: ExperimentConfig,
  keys: DataKeys,
  classes: readonly string[] = ISIC2019.classes,
): ExperimentPlan {
  const nMax = Math.max(...config.n);
  const perClass = Math.max(nMax, config.cyclegan.trainImages);
  const a = config.acgan;
  const jobs: Job[] = [splitJob(data, config, keys)];

  const acganArgs = ['acgan', 'train', ...dataFlags(data), ...ganTrainFlags(a, config)];
  if (a.batchSize) acganArgs.push('--batch-size', String(a.batchSize));
  acganArgs.push(...classesFlag(classes));
  // The ACGAN reads the split only to take its train part: keyed by that part's content.
  jobs.push({
    id: 'acgan',
    stage: 'acgan',
    args: acganArgs,
    deps: ['split'],
    inputs: { train: keys.part('train', classes) },
    keyDeps: [],
    resumeFlag: '--resume',
  });
  jobs.push({
    id: 'acgan-samples',
    stage: 'acgan',
    args: [
      'acgan',
      'sample',
      '--model',
      '{job:acgan}/run',
      '--per-class',
      String(perClass),
      '--seed',
      String(config.seed),
      '--size',
      String(config.cyclegan.size),
      '--out',
      '{out}/data',
    ],
    deps: ['acgan'],
  });
  jobs.push(subsetJob('real-test', 'data', data, { split: { part: 'test', keys } }));

  for (const c of classes) {
    jobs.push(
      subsetJob(`cyclegan-input/${c}`, 'data', ['{job:acgan-samples}/data'], {
        classes: [c],
        perClass: config.cyclegan.trainImages,
        deps: ['acgan-samples'],
      }),
    );
    // As many real images of the class, drawn at random: a CycleGAN's epoch is its larger domain,
    // so all 3,754 NV train images of ham-train would make NV's run 37× the others'.
    jobs.push(
      subsetJob(`cyclegan-real/${c}`, 'data', data, {
        split: { part: 'train', keys },
        classes: [c],
        perClass: config.cyclegan.trainImages,
        seed: config.seed,
      }),
    );
    jobs.push(cycleganTrainJob(`cyclegan/${c}`, `cyclegan-input/${c}`, `cyclegan-real/${c}`, config));
    jobs.push(translateJob(`translate/${c}`, `cyclegan/${c}`, 'acgan-samples', c, c));
  }

  const sets: TrainingSet[] = [
    { ...ISIC0, coords: { kind: 'real', n: 0 } },
    ...baselineSets(jobs, data, config, keys, { kind: 'real', n: 0 }, classes),
  ];
  for (const n of config.n) {
    jobs.push(
      subsetJob(`acgan-${n}`, 'data', ['{job:acgan-samples}/data'], { perClass: n, deps: ['acgan-samples'] }),
    );
    const translated = classes.map((c) => `translate/${c}`);
    jobs.push(
      subsetJob(
        `cyclegan-${n}`,
        'data',
        translated.map((t) => `{job:${t}}/data`),
        { perClass: n, deps: translated },
      ),
    );
    sets.push({
      label: `acgan-${n}`,
      slug: `acgan-${n}`,
      addJobs: [`acgan-${n}`],
      coords: { kind: 'acgan', n },
      source: 'acgan',
    });
    sets.push({
      label: `cyclegan-${n}`,
      slug: `cyclegan-${n}`,
      addJobs: [`cyclegan-${n}`],
      coords: { kind: 'cyclegan', n },
      source: 'cyclegan',
    });
  }

  const cells = sets.flatMap((set) => setCells(jobs, data, config, keys, set, classes));

  const ganMetricJobs: ExperimentPlan['ganMetricJobs'] = [];
  const measure = ganMetricMeasure(config);
  for (const kind of ['acgan', 'cyclegan']) {
    for (const metric of ['fid', 'kid'] as const) {
      const id = `${metric}/${kind}`;
      const own = measure.ownStore(metric, kind);
      jobs.push({
        id,
        stage: 'metrics',
        args: [
          'metrics',
          metric,
          '--real',
          '{job:real-test}/data',
          '--fake',
          `{job:${kind}-${nMax}}/data`,
          '--extractor',
          config.extractor,
          ...measure.flags,
          ...own.flags,
          '--per-class',
          '--json',
        ],
        // Through the heads' store: after the feature jobs that fill it with these images;
        // through their own: KID after FID.
        deps: [
          'real-test',
          `${kind}-${nMax}`,
          ...(measure.sharesHeadStore
            ? [REAL_FEATURES, featuresJobId(sets.find((s) => s.slug === `${kind}-${nMax}`)!)]
            : own.deps),
        ],
        stdoutFile: `${metric}.json`,
      });
      ganMetricJobs.push({ kind, metric, job: id });
    }
  }

  return {
    kind: 'noise2img',
    split: splitRule(keys),
    jobs,
    sets,
    cells,
    ganMetricJobs,
    sampleJobs: [
      { label: 'real (test)', job: 'real-test' },
      { label: 'ACGAN', job: `acgan-${nMax}` },
      { label: 'CycleGAN', job: `cyclegan-${nMax}` },
    ],
  };
}

/**
 * How FID/KID see the images, the same whatever the classifier method: real test and synthetic
 * images decoded at the generators' size (so both reach the extractor at the same detail; real
 * 128² files beside 64² samples would otherwise differ in sharpness alone), fed to `extractor` at
 * the heads' input size where the heads use that extractor. Where the heads also decode at that
 * size, the metrics read their feature store: the vectors of the test images and the largest
 * synthetic sets (ResNet-50 over 8,000 images a set, the experiment's largest cost) are then
 * computed once for the heads and both metrics. Elsewhere (networks, another decode size) FID's job
 * stores the vectors in its folder and KID's job, after it, reads them there: once for both metrics.
 */
export function ganMetricMeasure(config: ExperimentConfig): {
  flags: string[];
  sharesHeadStore: boolean;
  /** Without the heads' store: FID's job keeps its vectors in its folder, KID's job reads them there after it. */
  ownStore(metric: 'fid' | 'kid', kind: string): { flags: string[]; deps: string[] };
} {
  const c = config.classifier;
  const size = generatedSize('noise2img', config);
  const sameExtractor = c.extractor === config.extractor;
  const inputSize = sameExtractor ? c.inputSize : undefined;
  const sharesHeadStore = c.method === 'head' && sameExtractor && c.size === size;
  return {
    flags: [
      ...(sharesHeadStore ? ['--cache'] : []),
      '--size',
      String(size),
      ...(inputSize !== undefined ? ['--input-size', String(inputSize)] : []),
    ],
    sharesHeadStore,
    ownStore(metric, kind) {
      if (sharesHeadStore) return { flags: [], deps: [] };
      const fid = `fid/${kind}`;
      return metric === 'fid'
        ? { flags: ['--cache', '--store', '{out}/features'], deps: [] }
        : { flags: ['--cache', '--store', `{job:${fid}}/features`], deps: [fid] };
    },
  };
}
