import { basename, join, resolve } from 'node:path';
import { parseCsvRecords, pathExists, SkinganError } from '@skingan/core';
import { dataRows, readCsvText } from '../csv/csv-file.js';
import type { Problem } from '../problems.js';
import type { Dataset } from './load-dataset.js';
import type { SplitGroups } from './split.js';

/** The column a lesion-disjoint split groups by (HAM10000 and ISIC 2019 metadata both have it). */
export const LESION_COLUMN = 'lesion_id';

/**
 * Metadata files with a `lesion_id` column, in the order a dataset folder is searched:
 * HAM10000's (as the ham-train folder names it, then as the HAM10000 release does) and ISIC 2019's.
 */
export const LESION_METADATA_FILES: readonly string[] = Object.freeze([
  'ham10000_metadata.csv',
  'HAM10000_metadata.csv',
  'ISIC_2019_Training_Metadata.csv',
]);

/** The image-id columns those files use: HAM10000 `image_id`, ISIC 2019 `image`. */
const IMAGE_COLUMNS = ['image_id', 'image'] as const;

/** The lesions of one metadata CSV. */
export interface LesionMetadata {
  file: string;
  /** Image id → lesion id; `undefined` where the lesion_id cell is empty (a lesion of its own). */
  lesionOf: Map<string, string | undefined>;
}

/**
 * Reads a lesion metadata CSV: a `lesion_id` column and an image-id column (`image_id` as in
 * HAM10000, or `image` as in ISIC 2019; other columns are ignored). An empty lesion_id means the
 * image is a lesion of its own (ISIC 2019 leaves it empty where no other image shows the lesion).
 * A missing column, a short or long row, an empty image id or an image listed twice throws a
 * SkinganError naming the file and line.
 */
export async function readLesionMetadata(path: string): Promise<LesionMetadata> {
  const records = await parseCsvRecords(await readCsvText(path, 'lesion metadata file'), path);
  const header = (records[0] ?? []).map((h) => h.trim());
  const columnHint = `a lesion metadata CSV needs a ${LESION_COLUMN} column and an image id column (image_id as in HAM10000_metadata.csv, or image as in ISIC_2019_Training_Metadata.csv)`;
  const lesionCol = header.indexOf(LESION_COLUMN);
  const imageCol = IMAGE_COLUMNS.map((c) => header.indexOf(c)).find((i) => i >= 0) ?? -1;
  if (lesionCol < 0 || imageCol < 0) {
    const missing = [lesionCol < 0 ? LESION_COLUMN : '', imageCol < 0 ? 'image_id (or image)' : '']
      .filter(Boolean)
      .join(' and ');
    throw new SkinganError(`no ${missing} column (the header is "${header.join(',')}")`, {
      file: path,
      line: 1,
      hint: columnHint,
    });
  }
  const lesionOf = new Map<string, string | undefined>();
  const firstLine = new Map<string, number>();
  for (const { fields, line } of dataRows(records, path)) {
    const id = fields[imageCol]!.trim();
    if (!id) throw new SkinganError(`the ${header[imageCol]} is empty`, { file: path, line });
    const first = firstLine.get(id);
    if (first !== undefined) {
      throw new SkinganError(`image ${id} is listed twice (first on line ${first})`, {
        file: path,
        line,
        hint: 'each image belongs to one lesion; remove one of the rows',
      });
    }
    firstLine.set(id, line);
    lesionOf.set(id, fields[lesionCol]!.trim() || undefined);
  }
  return { file: path, lesionOf };
}

/**
 * The lesion metadata file of each dataset folder: the first of `LESION_METADATA_FILES` present
 * in it (absolute paths; a folder without one contributes nothing).
 */
export async function findLesionMetadata(dirs: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const dir of dirs) {
    for (const name of LESION_METADATA_FILES) {
      const path = join(resolve(dir), name);
      if (await pathExists(path)) {
        found.push(path);
        break;
      }
    }
  }
  return found;
}

/** What `lesionGroups` found: the groups for `makeSplit` and what to warn about. */
export interface LesionGrouping {
  groups: SplitGroups;
  /** Distinct lesions among the dataset's images (images without a lesion count one each). */
  lesions: number;
  /** Dataset images no metadata file has a row for: each is a lesion of its own. */
  unlisted: string[];
  problems: Problem[];
}

/**
 * The lesion of every image of `dataset`, from metadata files (ids they list that the dataset does
 * not have are ignored). An image without a row, or with an empty lesion_id, is a group of its own;
 * images without a row are reported as one problem, since near-duplicates of them could still
 * cross the split. An image that two files put in different lesions is an error.
 */
export async function lesionGroups(
  dataset: Pick<Dataset, 'samples'>,
  files: readonly string[],
): Promise<LesionGrouping> {
  const of = new Map<string, string>();
  const from = new Map<string, string>();
  const metas = [];
  for (const file of files) metas.push(await readLesionMetadata(file));
  const ids = new Set(dataset.samples.map((s) => s.id));
  for (const meta of metas) {
    for (const [id, lesion] of meta.lesionOf) {
      if (!ids.has(id)) continue;
      const other = from.get(id);
      if (other !== undefined && of.get(id) !== lesion) {
        throw new SkinganError(
          `image ${id} is in lesion ${lesion ?? '(none)'} here and in lesion ${of.get(id) ?? '(none)'} in ${other}`,
          { file: meta.file, hint: 'the metadata files disagree; fix or drop one of them' },
        );
      }
      from.set(id, meta.file);
      if (lesion !== undefined) of.set(id, lesion);
    }
  }
  const unlisted = dataset.samples.filter((s) => !from.has(s.id)).map((s) => s.id);
  const problems: Problem[] = [];
  if (unlisted.length) {
    const shown = unlisted.slice(0, 5).join(', ') + (unlisted.length > 5 ? ', …' : '');
    problems.push({
      file: files.join(', '),
      message: `${unlisted.length} image${unlisted.length > 1 ? 's have' : ' has'} no lesion row (${shown}): each is split as a lesion of its own, so a photograph of the same lesion could land in another part`,
    });
  }
  const lesions = new Set(of.values()).size + (dataset.samples.length - of.size);
  return {
    groups: { by: LESION_COLUMN, files: files.map((f) => basename(f)), of },
    lesions,
    unlisted,
    problems,
  };
}
