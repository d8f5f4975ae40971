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
  ids: Record<SplitPart, string[]>;
  /** Where `readSplit` read it from (not written), for messages. */
  file?: string;
}

export interface MakeSplitOptions {
  seed: number;
  fractions?: Partial<SplitFractions>;
}

/**
 * A stratified split: within each class, ids are ordered by a seeded hash of the id and cut by the
 * fractions (test first, then val, both rounded; train takes the rest). The same dataset and seed
 * give the same split on any machine whatever order the files were listed in, and an image's place
 * in that order does not depend on the other images: relabelling, adding or removing one image
 * leaves the other classes' parts as they were, and in its own classes moves at most the images at
 * a cut (so results that depend only on the unchanged parts can be reused).
 */
export function makeSplit(
  dataset: Pick<Dataset, 'labelSpace' | 'samples'>,
  options: MakeSplitOptions,
): Split {
  const fractions = checkFractions({ ...DEFAULT_FRACTIONS, ...options.fractions });
  if (!Number.isInteger(options.seed)) {
    throw new SkinganError(`the split seed must be an integer, got ${options.seed}`, { code: 'USAGE' });
  }
  const ids: Record<SplitPart, string[]> = { train: [], val: [], test: [] };
  const rank = (id: string) => createHash('sha256').update(`split:${options.seed}:${id}`).digest('hex');
  dataset.labelSpace.classes.forEach((_, label) => {
    const members = dataset.samples
      .filter((s) => s.label === label)
      .map((s) => ({ id: s.id, rank: rank(s.id) }));
    const shuffled = members
      .sort((a, b) => byCodeUnits(a.rank, b.rank) || byCodeUnits(a.id, b.id))
      .map((m) => m.id);
    const nTest = Math.round(members.length * fractions.test);
    const nVal = Math.min(members.length - nTest, Math.round(members.length * fractions.val));
    ids.test.push(...shuffled.slice(0, nTest));
    ids.val.push(...shuffled.slice(nTest, nTest + nVal));
    ids.train.push(...shuffled.slice(nTest + nVal));
  });
  for (const part of SPLIT_PARTS) ids[part].sort(byCodeUnits);
  return { seed: options.seed, fractions, ids };
}

/** Writes `split.json` atomically. */
export async function writeSplit(path: string, split: Split): Promise<void> {
  await writeJsonAtomic(path, { seed: split.seed, fractions: split.fractions, ids: split.ids });
}

/** Reads and validates a `split.json` (parts present, ids strings, no id in two parts). */
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
  const fractions = { ...DEFAULT_FRACTIONS, ...(v.fractions ?? {}) };
  return {
    seed: v.seed,
    fractions,
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
