import { createHash } from 'node:crypto';
import {
  type Dataset,
  FileHashCache,
  fingerprintDataset,
  fingerprintSamples,
  SPLIT_PARTS,
  type Split,
  type SplitPart,
  selectSplit,
} from '@skingan/data';

/** The content identities an experiment's job keys are made of. */
export interface DataKeys {
  /** Fingerprint of all input data: label files and every image (`fingerprintDataset`). */
  data: string;
  /** Fingerprint of a part of the split (ids, classes, image bytes), of `classes` or all of them. */
  part(part: SplitPart, classes?: readonly string[]): string;
}

/**
 * Fingerprints the experiment's data and each (part, class) of its split, with one file-hash cache,
 * so each job's key can hold exactly the data it reads: a relabelled test image reruns what
 * reads the test part, not a GAN trained on the unchanged train part.
 */
export async function dataKeys(dataset: Dataset, split: Split): Promise<DataKeys> {
  const cache = await FileHashCache.open();
  const data = (await fingerprintDataset(dataset, { cache })).hash;
  const classes = dataset.labelSpace.classes;
  const perClass = new Map<string, string>();
  for (const part of SPLIT_PARTS) {
    const samples = selectSplit(dataset, split, part);
    for (let label = 0; label < classes.length; label++) {
      const hash = await fingerprintSamples(
        samples.filter((s) => s.label === label),
        dataset.labelSpace,
        { cache },
      );
      perClass.set(`${part}/${classes[label]}`, hash);
    }
  }
  await cache.save();
  return {
    data,
    part(part, wanted = classes) {
      const rows = wanted.map((c) => {
        const hash = perClass.get(`${part}/${c}`);
        if (!hash) throw new Error(`no fingerprint for class ${c} of the ${part} part`);
        return [c, hash];
      });
      return createHash('sha256')
        .update(JSON.stringify([part, rows]))
        .digest('hex');
    },
  };
}
