import { resolve } from 'node:path';
import { ISIC2019, type Sample, SkinganError } from '@skingan/core';
import {
  type Dataset,
  formatProblem,
  loadDataset,
  readSplit,
  type SplitPart,
  selectSplit,
} from '@skingan/data';
import { flagClassIndex, splitList } from '../options.js';

/** The data flags of the commands that train a classifier (`classifier train`, `lr-find`, `head`). */
export interface DataFlags {
  data: string[];
  split?: string;
  add?: string[];
  classes?: string;
}

/** The first few problems of a dataset (missing images, rows without images…), as warnings. */
export function warnProblems(dataset: Dataset, say: (l: string) => void): void {
  for (const p of dataset.problems.slice(0, 5)) say(`warning: ${formatProblem(p)}`);
  if (dataset.problems.length > 5) say(`warning: … ${dataset.problems.length - 5} more problems skipped`);
}

/** Train and validation samples: the split's parts of --data, plus every image of --add for training. */
export async function trainingData(
  opts: DataFlags,
  say: (l: string) => void,
): Promise<{ dataset: Dataset; train: Sample[]; val: Sample[] }> {
  const classes = opts.classes ? { classes: splitList(opts.classes) } : {};
  for (const c of classes.classes ?? []) flagClassIndex(ISIC2019, c, '--classes');
  const dataset = await loadDataset(opts.data, classes);
  warnProblems(dataset, say);
  if (!opts.split) {
    throw new SkinganError('training needs --split, so that test images never reach the classifier', {
      code: 'USAGE',
      hint: 'make one with `skingan data split DIR --seed 7 --out split.json`',
    });
  }
  const split = await readSplit(opts.split);
  const train = selectSplit(dataset, split, 'train');
  const val = selectSplit(dataset, split, 'val');
  if (opts.add?.length) {
    const extra = await loadDataset(opts.add, classes);
    warnProblems(extra, say);
    train.push(...extra.samples);
  }
  if (train.length === 0)
    throw new SkinganError('no training images', { code: 'USAGE', file: resolve(opts.split) });
  return { dataset, train, val };
}

/** The images of --data a command reads: the --part of --split (default `part`), or every image. */
export async function selectPart(
  dataset: Dataset,
  opts: { data: string[]; split?: string; part?: SplitPart },
  part: SplitPart,
): Promise<{ samples: Sample[]; what: string }> {
  if (!opts.split) {
    if (opts.part) throw new SkinganError('--part needs --split', { code: 'USAGE' });
    return { samples: dataset.samples, what: `every image of ${opts.data.join(', ')}` };
  }
  const chosen = opts.part ?? part;
  return {
    samples: selectSplit(dataset, await readSplit(opts.split), chosen),
    what: `the ${chosen} part of ${opts.split}`,
  };
}
