import type { ExperimentConfig } from '../config.js';
import type { DataKeys } from '../data-keys.js';
import type { Job } from '../job.js';
import {
  baselineSets,
  classifierJobs,
  classifierSeeds,
  cycleganTrainJob,
  dataFlags,
  type ExperimentPlan,
  ISIC0,
  setCells,
  splitJob,
  splitRule,
  subsetJob,
  type TrainingSet,
  translateJob,
} from './common.js';

/** `0.25` → `0.25`, `1/8` → `0.125`: stable job ids for α. */
const alphaId = (a: number) => String(Number(a.toFixed(6)));

/**
 * Thesis ch. 7: a classifier on all real train data → path-rank-filter of MEL for each α → one
 * NV ↔ filtered-MEL CycleGAN per α → translate all NV train images → for each N add N synthetic MEL
 * (the same source NV images for every α, nested 500 ⊂ 1000 ⊂ …) → a classifier per (α, N), beside
 * ISIC-0 and the configured real-data baselines.
 * N is capped at the NV train images that exist (`nvTrain`).
 */
export function nv2melPlan(
  data: string[],
  config: ExperimentConfig,
  keys: DataKeys,
  nvTrain: number,
  classes?: readonly string[],
): ExperimentPlan {
  const jobs: Job[] = [splitJob(data, config, keys)];
  const baseSet: TrainingSet = { ...ISIC0, coords: { alpha: 0, n: 0 } };
  const realSets = [baseSet, ...baselineSets(jobs, data, config, keys, { alpha: 0, n: 0 }, classes)];
  // The ranking classifier is ISIC-0's first seed: the baseline row and the filter share it.
  const cells = realSets.flatMap((set) => setCells(jobs, data, config, keys, set, classes));
  // The filter needs a network to rank with; the fast path's heads are not one: train ISIC-0's
  // network of the first seed for it alone.
  let ranker = cells[0]!.trainJob;
  if (config.classifier.method === 'head') {
    const r = classifierJobs(data, config, keys, baseSet, classifierSeeds(config)[0]!, classes, 'network');
    jobs.push(r.jobs[0]!);
    ranker = r.cell.trainJob;
  }
  jobs.push(subsetJob('real-train/NV', 'data', data, { split: { part: 'train', keys }, classes: ['NV'] }));
  // The CycleGANs learn from `trainImages` of each domain, drawn at random (an epoch is the larger
  // domain: the same steps for every α), and translate every NV train image.
  const cg = { ...config.cyclegan, ...config.cyclegan.nv2mel };
  const draw = { perClass: cg.trainImages, seed: config.seed };
  jobs.push(
    subsetJob('cyclegan-input/NV', 'data', data, {
      split: { part: 'train', keys },
      classes: ['NV'],
      ...draw,
    }),
  );

  const ns = [...new Set(config.nMel.map((n) => Math.min(n, nvTrain)))].sort((a, b) => a - b);
  const sets: TrainingSet[] = [...realSets];
  for (const alpha of config.alphas) {
    const a = alphaId(alpha);
    jobs.push({
      id: `prf/${a}`,
      stage: 'path-rank-filter',
      args: [
        'prf',
        '--classifier',
        `{job:${ranker}}/run`,
        ...dataFlags(data),
        '--class',
        'MEL',
        '--alpha',
        String(alpha),
        '--link',
        '--out',
        '{out}/data',
      ],
      deps: [ranker, 'split'],
      // It ranks the MEL images of the train part.
      inputs: { train: keys.part('train', ['MEL']) },
      keyDeps: [ranker],
    });
    jobs.push(
      subsetJob(`cyclegan-input/MEL/${a}`, 'data', [`{job:prf/${a}}/data`], { ...draw, deps: [`prf/${a}`] }),
    );
    jobs.push(cycleganTrainJob(`cyclegan/${a}`, 'cyclegan-input/NV', `cyclegan-input/MEL/${a}`, config, cg));
    jobs.push(translateJob(`translate/${a}`, `cyclegan/${a}`, 'real-train/NV', 'NV', 'MEL'));
    for (const n of ns) {
      const id = `mel-${n}/${a}`;
      jobs.push(
        subsetJob(id, 'data', [`{job:translate/${a}}/data`], { perClass: n, deps: [`translate/${a}`] }),
      );
      const set: TrainingSet = {
        label: `α=${a} N=${n}`,
        slug: `a${a}-n${n}`,
        addJobs: [id],
        coords: { alpha, n },
        source: `alpha-${a}`,
      };
      sets.push(set);
      cells.push(...setCells(jobs, data, config, keys, set, classes));
    }
  }
  return {
    kind: 'nv2mel',
    split: splitRule(keys),
    jobs,
    sets,
    cells,
    ganMetricJobs: [],
    sampleJobs: [
      { label: 'real NV (train)', job: 'real-train/NV' },
      ...config.alphas.map((al) => ({
        label: `NV → MEL, α=${alphaId(al)}`,
        job: `translate/${alphaId(al)}`,
      })),
    ],
  };
}
