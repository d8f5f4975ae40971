import { promises as fs } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { ISIC2019, type LabelSpace, type Sample, SkinganError, subLabelSpace } from '@skingan/core';
import { readLabelsCsv } from '../csv/labels-csv.js';
import type { Problem } from '../problems.js';

/** `folder`: `labels.csv` + `images/`. `isic2019`: the official archive's names. */
export type DatasetLayout = 'folder' | 'isic2019';

export const ISIC2019_GROUND_TRUTH = 'ISIC_2019_Training_GroundTruth.csv';
export const ISIC2019_INPUT_DIR = 'ISIC_2019_Training_Input';
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png'];

/** One folder of a dataset. */
export interface DatasetRoot {
  dir: string;
  layout: DatasetLayout;
  labelsFile: string;
  imagesDir: string;
  /** From the folder's `dataset.json` (`"synthetic": true`), false when absent. */
  synthetic: boolean;
  /** Samples this folder contributed. */
  samples: number;
}

/** A labelled image set read from one or more folders. */
export interface Dataset {
  /** ISIC 2019, or the subset asked for with `classes` (in that order). */
  labelSpace: LabelSpace;
  /** Absolute paths; `label` indexes `labelSpace`. In folder order, then CSV order. */
  samples: Sample[];
  /** What was skipped and why (missing images, images without a row, UNK rows). */
  problems: Problem[];
  roots: DatasetRoot[];
  /** Ids that have a label row but are not samples: other classes, UNK rows, missing images. */
  skippedIds: ReadonlySet<string>;
}

export interface LoadDatasetOptions {
  /** Keep only these classes, e.g. `['MEL', 'NV']`; labels then index this list. */
  classes?: readonly string[];
  /** Fail on any problem (UNK rows, missing images, images without a row) instead of skipping it. */
  strict?: boolean;
}

/**
 * Reads a dataset: a folder (`labels.csv` + `images/<id>.jpg|png`), the official ISIC 2019 layout
 * (`ISIC_2019_Training_GroundTruth.csv` + `ISIC_2019_Training_Input/`), or a list of such folders
 * (e.g. real + synthetic). Broken label files throw; missing images, images without a row and UNK
 * rows are reported in `problems` and skipped (thrown under `strict`).
 */
export async function loadDataset(
  pathOrPaths: string | readonly string[],
  options: LoadDatasetOptions = {},
): Promise<Dataset> {
  const dirs = (typeof pathOrPaths === 'string' ? [pathOrPaths] : [...pathOrPaths]).map((d) => resolve(d));
  if (dirs.length === 0) throw new SkinganError('no dataset folder given', { code: 'USAGE' });
  const labelSpace = options.classes?.length ? subLabelSpace(ISIC2019, options.classes) : ISIC2019;
  const classOf = new Map(labelSpace.classes.map((c, i) => [c, i]));

  const samples: Sample[] = [];
  const problems: Problem[] = [];
  const roots: DatasetRoot[] = [];
  const skippedIds = new Set<string>();
  const owner = new Map<string, string>();

  for (const dir of dirs) {
    const root = await detectLayout(dir);
    const report = (p: Problem): void => {
      if (options.strict) {
        throw new SkinganError(p.message, {
          file: p.file,
          line: p.line,
          hint: 'fix the dataset, or run without --strict to skip it',
        });
      }
      problems.push(p);
    };
    const csv = await readLabelsCsv(root.labelsFile, { strict: options.strict });
    if (csv.unkRows) {
      report({
        file: root.labelsFile,
        message: `${csv.unkRows} row${csv.unkRows > 1 ? 's' : ''} labelled UNK skipped`,
      });
    }
    const images = await listImages(root.imagesDir, report);
    // UNK rows are skipped (reported above), but their images do have a row.
    const listed = new Set<string>(csv.unkIds);
    for (const row of csv.rows) {
      listed.add(row.id);
      const other = owner.get(row.id);
      if (other !== undefined) {
        throw new SkinganError(`image id ${row.id} is in two dataset folders: ${other} and ${dir}`, {
          file: root.labelsFile,
          line: row.line,
          hint: 'ids must be unique across the folders of a dataset (splits refer to images by id); rename one',
        });
      }
      owner.set(row.id, dir);
      const file = images.get(row.id);
      const label = classOf.get(row.className);
      if (file === undefined || label === undefined) {
        skippedIds.add(row.id);
        if (file === undefined) {
          const message = `no image for ${row.id} in ${root.imagesDir} (row skipped)`;
          report({ file: root.labelsFile, line: row.line, id: row.id, message });
        }
        continue;
      }
      samples.push({ id: row.id, label, path: join(root.imagesDir, file) });
      root.samples++;
    }
    for (const [id, file] of images) {
      if (!listed.has(id)) {
        report({
          file: join(root.imagesDir, file),
          id,
          message: `${file} has no row in ${root.labelsFile} (ignored)`,
        });
      }
    }
    roots.push(root);
  }
  return { labelSpace, samples, problems, roots, skippedIds };
}

async function detectLayout(dir: string): Promise<DatasetRoot> {
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) {
    throw new SkinganError(stat ? 'not a folder' : 'no such dataset folder', {
      code: 'NOT_FOUND',
      file: dir,
      hint: 'pass a folder with labels.csv + images/, or the ISIC 2019 download folder',
    });
  }
  const synthetic = await readSyntheticFlag(join(dir, 'dataset.json'));
  const base = { dir, synthetic, samples: 0 };
  if (await isFile(join(dir, 'labels.csv'))) {
    return { ...base, layout: 'folder', labelsFile: join(dir, 'labels.csv'), imagesDir: join(dir, 'images') };
  }
  if (await isFile(join(dir, ISIC2019_GROUND_TRUTH))) {
    return {
      ...base,
      layout: 'isic2019',
      labelsFile: join(dir, ISIC2019_GROUND_TRUTH),
      imagesDir: join(dir, ISIC2019_INPUT_DIR),
    };
  }
  throw new SkinganError(`not a dataset folder: it has neither labels.csv nor ${ISIC2019_GROUND_TRUTH}`, {
    code: 'NOT_FOUND',
    file: dir,
    hint: 'a dataset is labels.csv (ISIC 2019 ground-truth format) + images/<id>.jpg|png',
  });
}

/** Image files of a folder by id (file name without extension); other files are ignored. */
async function listImages(imagesDir: string, report: (p: Problem) => void): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = (await fs.readdir(imagesDir)).sort();
  } catch (e) {
    throw new SkinganError('the images folder is missing', {
      code: 'NOT_FOUND',
      file: imagesDir,
      cause: e,
      hint: 'images go in images/<id>.jpg|png next to labels.csv',
    });
  }
  const byId = new Map<string, string>();
  for (const name of names) {
    if (name.startsWith('.')) continue; // temp files of an interrupted write
    const ext = extname(name).toLowerCase();
    if (!IMAGE_EXTENSIONS.includes(ext)) continue;
    const id = name.slice(0, -ext.length);
    const prior = byId.get(id);
    if (prior !== undefined) {
      report({
        file: join(imagesDir, name),
        id,
        message: `two images for ${id}: ${prior} and ${name}; using ${prior}`,
      });
      continue;
    }
    byId.set(id, name);
  }
  return byId;
}

async function isFile(path: string): Promise<boolean> {
  return (await fs.stat(path).catch(() => undefined))?.isFile() ?? false;
}

async function readSyntheticFlag(path: string): Promise<boolean> {
  try {
    const meta = JSON.parse(await fs.readFile(path, 'utf8')) as { synthetic?: unknown };
    return meta.synthetic === true;
  } catch {
    return false;
  }
}

/** Images per class name, in label-space order. */
export function countPerClass(dataset: Pick<Dataset, 'labelSpace' | 'samples'>): Record<string, number> {
  const counts = Object.fromEntries(dataset.labelSpace.classes.map((c) => [c, 0])) as Record<string, number>;
  for (const s of dataset.samples) counts[dataset.labelSpace.classes[s.label]!]!++;
  return counts;
}
