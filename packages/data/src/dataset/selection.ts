import type { Sample } from '@skingan/core';
import { SkinganError } from '@skingan/core';
import { type Dataset, loadDataset } from './load-dataset.js';
import { readSplit, type SplitPart, selectSplit } from './split.js';

/** Which images of some dataset folders a command works on. */
export interface SelectionOptions {
  /** Keep only the ids of one part of this split.json (with `part`). */
  split?: string;
  part?: SplitPart;
  /** Keep only these classes (labels keep their ISIC 2019 names). */
  classes?: readonly string[];
  /** Fail on the first dataset problem (missing image, UNK row…) instead of skipping it. */
  strict?: boolean;
}

/**
 * Loads dataset folders and picks the samples of one split part and some classes (all of them
 * without options), in the split's order, else the folders' order. Shared by the commands that write
 * a new dataset from chosen images (`data subset`, `data augment`).
 */
export async function loadSelection(
  sources: string | readonly string[],
  options: SelectionOptions = {},
): Promise<{ dataset: Dataset; samples: Sample[] }> {
  if ((options.split === undefined) !== (options.part === undefined)) {
    throw new SkinganError('a split and a part go together (e.g. --split s.json --part test)', {
      code: 'USAGE',
    });
  }
  const dataset = await loadDataset(sources, {
    ...(options.classes?.length ? { classes: options.classes } : {}),
    ...(options.strict ? { strict: true } : {}),
  });
  const samples =
    options.split && options.part
      ? selectSplit(dataset, await readSplit(options.split), options.part)
      : dataset.samples;
  return { dataset, samples };
}
