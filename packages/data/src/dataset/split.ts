import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { type Sample, SkinganError, writeJsonAtomic } from '@skingan/core';
import type { Dataset } from './load-dataset.js';

export const SPLIT_PARTS = ['train', 'val', 'test'] as const;
export type SplitPart = (typeof SPLIT_PARTS)[number];
export type SplitFractions = Record<SplitPart, number>;

/** The thesis' split (Table 6.1): 80% train, 10% validation, 10% test, per class. */
export const DEFAULT_FRACTIONS: Readonly<SplitFractions> = Object.freeze({ train: 0.8, val: 0.1, test: 0.1 });

/** The content of `split.json`. */
export interface Split {
  seed: number;
  fractions: SplitFractions;
  /** The column images were grouped by (`lesion_id`), absent for a split by image. */
  groupBy?: string;
  /** The file names the groups were read from (e.g. `ham10000_metadata.csv`), with `groupBy`. */
  metadata?: string[];
  /** Which fold of a K-fold rotation this is, absent for a single split. */
  fold?: SplitFold;
  ids: Record<SplitPart, string[]>;
  /** Where `readSplit` read it from (not written), for messages. */
  file?: string;
  /** `makeSplit` with groups (not written): groups whose images have more than one class. */
  mixedGroups?: string[];
}

/** Images that must stay on one side of the split, e.g. the photographs of one lesion. */
export interface SplitGroups {
  /** What groups them, recorded in split.json as `groupBy`, e.g. `lesion_id`. */
  by: string;
  /** The files the groups came from, recorded in split.json as `metadata`. */
  files: string[];
  /** Image id → group name; an id without one is a group of its own. */
  of: ReadonlyMap<string, string>;
}

/** Fold `index` (0 … count − 1) of `count` rotated splits whose test parts partition the data. */
export interface SplitFold {
  count: number;
  index: number;
}

export interface MakeSplitOptions {
  seed: number;
  fractions?: Partial<SplitFractions>;
  /** Keep each group on one side (see `makeSplit`); without it every image is its own group. */
  groups?: SplitGroups;
  /** One fold of a K-fold rotation (see `makeSplit`); the test fraction must then be 1/count. */
  fold?: SplitFold;
}

/** The fractions of a fold of `count`: test 1/count, val `val`, train the rest. */
export function foldFractions(count: number, val = DEFAULT_FRACTIONS.val): SplitFractions {
  const test = 1 / count;
  return { train: Number((1 - val - test).toFixed(12)), val, test };
}

/**
 * A stratified split: within each class, ids are ordered by a seeded hash of the id and cut by the
 * fractions (test first, then val, both rounded; train takes the rest). The same dataset and seed
 * give the same split on any machine whatever order the files were listed in, and an image's place
 * in that order does not depend on the other images: relabelling, adding or removing one image
 * leaves the other classes' parts as they were, and in its own classes moves at most the images at
 * a cut (so results that depend only on the unchanged parts can be reused).
 *
 * With `groups`, the unit is the group instead of the image: every image of a group lands in one
 * part. A group's class is the majority label of its images (a tie goes to the class listed first
 * in the label space); a mixed group goes wholly with that class, so its minority images count
 * in their own class's part without being stratified there (`mixedGroups` names such groups).
 * Within a class, groups are ordered by a seeded hash of the group name and laid end to end by
 * image count; a group lands in the part whose cut range (test first, then val, sized in images as
 * above) holds its middle. So each part's image count per class is within half the largest group
 * of the target, and the properties above hold with "group" for "image". An image without a group
 * is hashed by its id, so where no image has a group this is the split by image.
 *
 * With `fold` { count: K, index: k }, the same order is cut into K stretches of about 1/K of each
 * class's images (boundaries rounded); stretch k is the test part, the val part is the stretch of
 * the val fraction that follows it (wrapping around to the start), train the rest. So the K folds'
 * test parts partition the data (every image, every group, is tested exactly once), and fold 0 is
 * the single split with a test fraction of 1/K.
 */
export function makeSplit(
  dataset: Pick<Dataset, 'labelSpace' | 'samples'>,
  options: MakeSplitOptions,
): Split {
  const fractions = checkFractions({ ...DEFAULT_FRACTIONS, ...options.fractions });
  if (!Number.isInteger(options.seed)) {
    throw new SkinganError(`the split seed must be an integer, got ${options.seed}`, { code: 'USAGE' });
  }
  const fold = options.fold && checkFold(options.fold, fractions);
  const ids: Record<SplitPart, string[]> = { train: [], val: [], test: [] };
  const rank = (name: string) => createHash('sha256').update(`split:${options.seed}:${name}`).digest('hex');
  const { groups, mixed } = groupSamples(dataset, options.groups?.of);
  dataset.labelSpace.classes.forEach((_, label) => {
    const members = groups
      .filter((g) => g.label === label)
      .map((g) => ({ ...g, rank: rank(g.name) }))
      .sort((a, b) => byCodeUnits(a.rank, b.rank) || byCodeUnits(a.key, b.key));
    const total = members.reduce((n, g) => n + g.ids.length, 0);
    // The test stretch [start, end) of the laid-out images, then val's nVal after it (cyclically).
    const start = fold ? Math.round((total * fold.index) / fold.count) : 0;
    const end = fold
      ? Math.round((total * (fold.index + 1)) / fold.count)
      : Math.round(total * fractions.test);
    const nVal = Math.min(total - (end - start), Math.round(total * fractions.val));
    let before = 0;
    for (const g of members) {
      const middle = before + g.ids.length / 2;
      const afterTest = middle >= end ? middle - end : middle - end + total;
      const part: SplitPart = middle >= start && middle < end ? 'test' : afterTest < nVal ? 'val' : 'train';
      ids[part].push(...g.ids);
      before += g.ids.length;
    }
  });
  for (const part of SPLIT_PARTS) ids[part].sort(byCodeUnits);
  return {
    seed: options.seed,
    fractions,
    ...(options.groups ? { groupBy: options.groups.by, metadata: [...options.groups.files] } : {}),
    ...(fold ? { fold: { count: fold.count, index: fold.index } } : {}),
    ids,
    ...(options.groups ? { mixedGroups: mixed } : {}),
  };
}

function checkFold(fold: SplitFold, fractions: SplitFractions): SplitFold {
  const { count, index } = fold;
  if (!Number.isInteger(count) || count < 2 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new SkinganError(
      `a fold needs 2 or more folds and an index 0 … folds − 1, got fold ${index} of ${count}`,
      {
        code: 'USAGE',
      },
    );
  }
  if (Math.abs(fractions.test - 1 / count) > 1e-9) {
    throw new SkinganError(
      `with ${count} folds the test part is 1/${count} of each class, but the test fraction is ${fractions.test}`,
      {
        code: 'USAGE',
        hint: `use the fractions ${Object.values(foldFractions(count, fractions.val)).join(',')}`,
      },
    );
  }
  return fold;
}

interface SampleGroup {
  /** Hashed for the order: the group name, or the image id of an image on its own. */
  name: string;
  /** Unique: a group and an image of the same name stay apart. */
  key: string;
  label: number;
  ids: string[];
}

/** The samples as groups (each with its majority label), and the names of mixed-label groups. */
function groupSamples(
  dataset: Pick<Dataset, 'labelSpace' | 'samples'>,
  groupOf: ReadonlyMap<string, string> | undefined,
): { groups: SampleGroup[]; mixed: string[] } {
  const byKey = new Map<string, { name: string; samples: Sample[] }>();
  for (const s of dataset.samples) {
    const group = groupOf?.get(s.id);
    const key = group === undefined ? `image:${s.id}` : `group:${group}`;
    const entry = byKey.get(key) ?? { name: group ?? s.id, samples: [] };
    entry.samples.push(s);
    byKey.set(key, entry);
  }
  const groups: SampleGroup[] = [];
  const mixed: string[] = [];
  for (const [key, { name, samples }] of byKey) {
    const counts = new Map<number, number>();
    for (const s of samples) counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
    let label = -1;
    for (let l = 0; l < dataset.labelSpace.classes.length; l++) {
      if ((counts.get(l) ?? 0) > (counts.get(label) ?? 0)) label = l;
    }
    if (counts.size > 1) mixed.push(name);
    groups.push({ name, key, label, ids: samples.map((s) => s.id).sort(byCodeUnits) });
  }
  return { groups, mixed: mixed.sort(byCodeUnits) };
}

/** Writes `split.json` atomically. */
export async function writeSplit(path: string, split: Split): Promise<void> {
  const rule = split.groupBy ? { groupBy: split.groupBy, metadata: split.metadata ?? [] } : {};
  const fold = split.fold ? { fold: split.fold } : {};
  await writeJsonAtomic(path, {
    seed: split.seed,
    fractions: split.fractions,
    ...rule,
    ...fold,
    ids: split.ids,
  });
}

/**
 * Reads and validates a `split.json` (parts present, ids strings, no id in two parts, a grouping
 * rule if any well formed). Files written before grouped splits existed read as splits by image.
 */
export async function readSplit(path: string): Promise<Split> {
  let value: unknown;
  try {
    value = JSON.parse(await fs.readFile(path, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SkinganError(
      missing ? 'split file not found' : `not a valid split file: ${(e as Error).message}`,
      {
        code: missing ? 'NOT_FOUND' : 'BAD_INPUT',
        file: path,
        cause: e,
        hint: 'make one with `skingan data split DIR --seed N --out split.json`',
      },
    );
  }
  const bad = (what: string): SkinganError =>
    new SkinganError(`not a valid split file: ${what}`, {
      file: path,
      hint: 'expected {"seed": N, "fractions": {...}, "ids": {"train": [...], "val": [...], "test": [...]}}',
    });
  const v = value as Partial<Split> | null;
  if (typeof v !== 'object' || v === null) throw bad('not a JSON object');
  if (typeof v.seed !== 'number') throw bad('"seed" is missing');
  if (typeof v.ids !== 'object' || v.ids === null) throw bad('"ids" is missing');
  const seen = new Map<string, SplitPart>();
  for (const part of SPLIT_PARTS) {
    const list = v.ids[part];
    if (!Array.isArray(list) || list.some((id) => typeof id !== 'string'))
      throw bad(`"ids.${part}" is not a list of ids`);
    for (const id of list) {
      const other = seen.get(id);
      if (other) throw bad(`id ${id} is in both ${other} and ${part}`);
      seen.set(id, part);
    }
  }
  if (v.groupBy !== undefined && (typeof v.groupBy !== 'string' || !v.groupBy))
    throw bad('"groupBy" is not a column name');
  if (
    v.metadata !== undefined &&
    (!Array.isArray(v.metadata) || v.metadata.some((f) => typeof f !== 'string'))
  )
    throw bad('"metadata" is not a list of file names');
  const f = v.fold;
  if (
    f !== undefined &&
    (typeof f !== 'object' ||
      f === null ||
      !Number.isInteger(f.count) ||
      !Number.isInteger(f.index) ||
      f.index < 0 ||
      f.index >= f.count)
  )
    throw bad('"fold" is not {"count": K, "index": 0 … K − 1}');
  const fractions = { ...DEFAULT_FRACTIONS, ...(v.fractions ?? {}) };
  return {
    seed: v.seed,
    fractions,
    ...(v.groupBy ? { groupBy: v.groupBy, metadata: v.metadata ?? [] } : {}),
    ...(f ? { fold: { count: f.count, index: f.index } } : {}),
    ids: { train: v.ids.train!, val: v.ids.val!, test: v.ids.test! },
    file: path,
  };
}

/**
 * The samples of one part of a split, in the split's order. Ids the dataset skipped on purpose
 * (filtered classes, UNK rows, reported missing images) are left out; any other id the dataset does
 * not have is an error, since it means the split belongs to another dataset.
 */
export function selectSplit(
  dataset: Pick<Dataset, 'samples' | 'skippedIds'>,
  split: Split,
  part: SplitPart,
): Sample[] {
  const byId = new Map(dataset.samples.map((s) => [s.id, s]));
  const out: Sample[] = [];
  const unknown: string[] = [];
  for (const id of split.ids[part]) {
    const s = byId.get(id);
    if (s) out.push(s);
    else if (!dataset.skippedIds.has(id)) unknown.push(id);
  }
  if (unknown.length) {
    const shown =
      unknown.slice(0, 5).join(', ') + (unknown.length > 5 ? `, … (${unknown.length} in all)` : '');
    throw new SkinganError(`the ${part} part names ids this dataset does not have: ${shown}`, {
      file: split.file ?? 'split',
      hint: 'the split was made for another dataset; make a new one with `skingan data split`',
    });
  }
  return out;
}

function checkFractions(f: SplitFractions): SplitFractions {
  const values = SPLIT_PARTS.map((p) => f[p]);
  if (
    values.some((x) => !Number.isFinite(x) || x < 0 || x > 1) ||
    Math.abs(values.reduce((a, b) => a + b, 0) - 1) > 1e-6
  ) {
    throw new SkinganError(`split fractions must be in [0, 1] and sum to 1, got ${values.join('/')}`, {
      code: 'USAGE',
    });
  }
  return { train: f.train, val: f.val, test: f.test };
}

/** Locale-independent order, so every machine sorts ids alike. */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
