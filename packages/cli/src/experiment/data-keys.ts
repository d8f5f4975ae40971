import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename } from 'node:path';
import {
  type Dataset,
  FileHashCache,
  fingerprintDataset,
  fingerprintSamples,
  SPLIT_PARTS,
  type Split,
  type SplitFold,
  type SplitPart,
  selectSplit,
} from '@skingan/data';

/** The content identities an experiment's job keys are made of. */
export interface DataKeys {
  /** Fingerprint of all input data: label files and every image (`fingerprintDataset`). */
  data: string;
  /** Fingerprint of a part of the split (ids, classes, image bytes), of `classes` or all of them. */
  part(part: SplitPart, classes?: readonly string[]): string;
  /** Present when the split is by lesion: the metadata files it reads (see `lesionKey`). */
  lesions?: LesionKey;
  /** Present when the split is one fold of a K-fold rotation: which (the split job writes it). */
  fold?: SplitFold;
}

/** The lesion metadata a split by lesion reads: file names and a hash of their content. */
export interface LesionKey {
  /** File names, e.g. `ham10000_metadata.csv`, for the report. */
  files: string[];
  /** SHA-256 of the files' bytes in order: an edited file reruns the split job. */
  hash: string;
}

/** The key of the lesion metadata files a split by lesion reads (absolute paths, in folder order). */
export async function lesionKey(paths: readonly string[]): Promise<LesionKey> {
  const hash = createHash('sha256');
  for (const path of paths) {
    const bytes = await fs.readFile(path);
    hash.update(`${bytes.length}:`).update(bytes);
  }
  return { files: paths.map((p) => basename(p)), hash: hash.digest('hex') };
}

/**
 * Fingerprints the experiment's data and each (part, class) of its split, with one file-hash cache,
 * so each job's key can hold exactly the data it reads: a relabelled test image reruns what
 * reads the test part, not a GAN trained on the unchanged train part. `split` is made by lesion
 * when `lesions` is given; an edited metadata file then changes the split job's key, and the part
 * keys of whatever images it moved.
 */
export async function dataKeys(dataset: Dataset, split: Split, lesions?: LesionKey): Promise<DataKeys> {
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
    ...(lesions ? { lesions } : {}),
    ...(split.fold ? { fold: split.fold } : {}),
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
