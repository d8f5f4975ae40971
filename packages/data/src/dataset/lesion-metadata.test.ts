import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ISIC2019, Rng, type Sample } from '@skingan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-utils/fixtures.js';
import { SHARED_DATA } from '../test-utils/shared-dir.js';
import {
  findLesionMetadata,
  LESION_METADATA_FILES,
  lesionGroups,
  readLesionMetadata,
} from './lesion-metadata.js';
import { loadDataset } from './load-dataset.js';
import { foldFractions, makeSplit, readSplit, type Split, type SplitGroups, writeSplit } from './split.js';

const HAM_HEADER = 'lesion_id,image_id,dx,dx_type,age,sex,localization';
const ISIC_HEADER = 'image,age_approx,anatom_site_general,lesion_id,sex';

/** The part of each id. */
function partOf(split: Split): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of ['train', 'val', 'test'] as const) for (const id of split.ids[part]) m.set(id, part);
  return m;
}

/** Group names that have images in more than one part. */
function crossing(split: Split, of: ReadonlyMap<string, string>): string[] {
  const parts = partOf(split);
  const seen = new Map<string, Set<string>>();
  for (const [id, group] of of) {
    const part = parts.get(id);
    if (!part) continue;
    seen.set(group, (seen.get(group) ?? new Set()).add(part));
  }
  return [...seen].filter(([, s]) => s.size > 1).map(([g]) => g);
}

describe('readLesionMetadata', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('reads HAM10000 (image_id) and ISIC 2019 (image, empty lesion_id = a lesion of its own) files', async () => {
    const ham = join(dir, 'ham10000_metadata.csv');
    await fs.writeFile(
      ham,
      `${HAM_HEADER}\nHAM_1,ISIC_1,nv,histo,55.0,female,trunk\r\nHAM_1,ISIC_2,nv,histo,55.0,female,trunk\n\nHAM_2,ISIC_3,mel,histo,,male,"back, upper"\n`,
    );
    expect((await readLesionMetadata(ham)).lesionOf).toEqual(
      new Map([
        ['ISIC_1', 'HAM_1'],
        ['ISIC_2', 'HAM_1'],
        ['ISIC_3', 'HAM_2'],
      ]),
    );
    const isic = join(dir, 'ISIC_2019_Training_Metadata.csv');
    await fs.writeFile(isic, `${ISIC_HEADER}\nISIC_7,55,torso,,male\nISIC_8,30,,IL_000001,female\n`);
    expect((await readLesionMetadata(isic)).lesionOf).toEqual(
      new Map([
        ['ISIC_7', undefined],
        ['ISIC_8', 'IL_000001'],
      ]),
    );
  });

  it('names the file and line of a missing column, a bad row, an empty id and an image listed twice', async () => {
    const path = join(dir, 'bad.csv');
    const read = async (text: string) => {
      await fs.writeFile(path, text);
      return readLesionMetadata(path);
    };
    await expect(read('image_id,dx\nISIC_1,nv\n')).rejects.toThrow(
      `${path}:1: no lesion_id column (the header is "image_id,dx")`,
    );
    await expect(read('lesion_id,dx\nHAM_1,nv\n')).rejects.toThrow(
      `${path}:1: no image_id (or image) column (the header is "lesion_id,dx")`,
    );
    await expect(read(`${HAM_HEADER}\nHAM_1,ISIC_1,nv\n`)).rejects.toThrow(
      `${path}:2: the row has 3 fields, the header has 7`,
    );
    await expect(read(`${HAM_HEADER}\nHAM_1,,nv,histo,1,male,back\n`)).rejects.toThrow(
      `${path}:2: the image_id is empty`,
    );
    await expect(
      read(
        `${HAM_HEADER}\nHAM_1,ISIC_1,nv,histo,1,male,back\nHAM_1,ISIC_2,nv,histo,1,male,back\nHAM_2,ISIC_1,nv,histo,1,male,back\n`,
      ),
    ).rejects.toThrow(`${path}:4: image ISIC_1 is listed twice (first on line 2)`);
    await expect(readLesionMetadata(join(dir, 'none.csv'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('findLesionMetadata takes the first known name in each folder', async () => {
    const a = await tempDir();
    const b = await tempDir();
    const c = await tempDir();
    await fs.writeFile(join(a, 'ISIC_2019_Training_Metadata.csv'), ISIC_HEADER);
    await fs.writeFile(join(a, 'ham10000_metadata.csv'), HAM_HEADER);
    await fs.writeFile(join(b, 'ISIC_2019_Training_Metadata.csv'), ISIC_HEADER);
    expect(await findLesionMetadata([a, b, c])).toEqual([
      join(a, 'ham10000_metadata.csv'),
      join(b, 'ISIC_2019_Training_Metadata.csv'),
    ]);
    expect(LESION_METADATA_FILES[0]).toBe('ham10000_metadata.csv');
  });
});

describe('lesionGroups', () => {
  it('ignores ids the dataset lacks, makes images without a row groups of their own and reports them', async () => {
    const dir = await tempDir();
    const file = join(dir, 'ham10000_metadata.csv');
    await fs.writeFile(
      file,
      `${HAM_HEADER}\nHAM_1,a,nv,h,1,m,x\nHAM_1,b,nv,h,1,m,x\nHAM_2,gone,nv,h,1,m,x\nHAM_3,c,nv,h,1,m,x\n`,
    );
    const samples = ['a', 'b', 'c', 'd'].map((id) => ({ id, label: 1, path: `/x/${id}` }));
    const g = await lesionGroups({ samples }, [file]);
    expect(g.groups).toEqual({
      by: 'lesion_id',
      files: ['ham10000_metadata.csv'],
      of: new Map([
        ['a', 'HAM_1'],
        ['b', 'HAM_1'],
        ['c', 'HAM_3'],
      ]),
    });
    expect(g.lesions).toBe(3); // HAM_1, HAM_3 and d on its own
    expect(g.unlisted).toEqual(['d']);
    expect(g.problems).toEqual([
      {
        file,
        message:
          '1 image has no lesion row (d): each is split as a lesion of its own, so a photograph of the same lesion could land in another part',
      },
    ]);
  });

  it('two files that put one image in different lesions are an error', async () => {
    const dir = await tempDir();
    const one = join(dir, 'ham10000_metadata.csv');
    const two = join(dir, 'ISIC_2019_Training_Metadata.csv');
    await fs.writeFile(one, `${HAM_HEADER}\nHAM_1,a,nv,h,1,m,x\n`);
    await fs.writeFile(two, `${ISIC_HEADER}\na,1,x,IL_9,m\n`);
    await expect(lesionGroups({ samples: [{ id: 'a', label: 0, path: '/a' }] }, [one, two])).rejects.toThrow(
      `${two}: image a is in lesion IL_9 here and in lesion HAM_1 in ${one}`,
    );
  });
});

/** A tiny dataset: per class, lesions of the given sizes (ids `<class>-<lesion>-<photo>`). */
function lesionDataset(sizes: number[][]): { samples: Sample[]; groups: SplitGroups } {
  const samples: Sample[] = [];
  const of = new Map<string, string>();
  sizes.forEach((lesions, label) => {
    lesions.forEach((n, l) => {
      for (let p = 0; p < n; p++) {
        const id = `c${label}-L${l}-${p}`;
        samples.push({ id, label, path: `/x/${id}` });
        of.set(id, `L${label}_${l}`);
      }
    });
  });
  return { samples, groups: { by: 'lesion_id', files: ['ham10000_metadata.csv'], of } };
}

describe('makeSplit by lesion', () => {
  // Class 0: 30 lesions of 1–4 photographs (75 images); class 1: 12 lesions of 1–2 (18 images).
  const sizes = [
    Array.from({ length: 30 }, (_, i) => 1 + (i % 4)),
    Array.from({ length: 12 }, (_, i) => 1 + (i % 2)),
  ];

  it('keeps every lesion on one side, with each class within half its largest lesion of the target', () => {
    const { samples, groups } = lesionDataset(sizes);
    for (const seed of [1, 2, 3, 4, 5]) {
      const split = makeSplit({ labelSpace: ISIC2019, samples }, { seed, groups });
      expect(crossing(split, groups.of)).toEqual([]);
      const parts = partOf(split);
      expect(parts.size).toBe(samples.length);
      for (const [label, total, largest] of [
        [0, 75, 4],
        [1, 18, 2],
      ] as const) {
        const n = (part: string) =>
          samples.filter((s) => s.label === label && parts.get(s.id) === part).length;
        // Targets: round(0.1 · total) for test and val; a lesion lands where its middle falls.
        expect(Math.abs(n('test') - Math.round(total * 0.1))).toBeLessThanOrEqual(largest / 2);
        expect(Math.abs(n('val') - Math.round(total * 0.1))).toBeLessThanOrEqual(largest / 2);
      }
      expect(split).toMatchObject({
        groupBy: 'lesion_id',
        metadata: ['ham10000_metadata.csv'],
        mixedGroups: [],
      });
    }
  });

  it('depends only on the seed, not on the order samples were listed in', () => {
    const { samples, groups } = lesionDataset(sizes);
    const a = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 7, groups });
    const b = makeSplit({ labelSpace: ISIC2019, samples: new Rng(99).shuffle(samples) }, { seed: 7, groups });
    expect(b).toEqual(a);
    expect(makeSplit({ labelSpace: ISIC2019, samples }, { seed: 8, groups }).ids.test).not.toEqual(
      a.ids.test,
    );
  });

  it('is the split by image where no image has a lesion', () => {
    const { samples, groups } = lesionDataset([Array(40).fill(1), Array(25).fill(1), [1, 1, 1]]);
    const none = { ...groups, of: new Map<string, string>() };
    const byLesion = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 3, groups: none });
    expect(byLesion.ids).toEqual(makeSplit({ labelSpace: ISIC2019, samples }, { seed: 3 }).ids);
  });

  it('a mixed lesion goes whole with its majority class (a tie: the class listed first) and is named', () => {
    const { samples, groups } = lesionDataset([Array(20).fill(1), Array(20).fill(1)]);
    const of = new Map(groups.of);
    // L0_0: two photographs of class 0 and one of class 1 → class 0; L1_0: one of each → class 0 (MEL before NV).
    samples.push({ id: 'c1-extra', label: 1, path: '/x' }, { id: 'c0-extra', label: 0, path: '/y' });
    samples.push({ id: 'c0-extra2', label: 0, path: '/z' });
    of.set('c1-extra', 'L0_0');
    of.set('c0-extra2', 'L0_0');
    of.set('c0-extra', 'L1_0');
    const split = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 1, groups: { ...groups, of } });
    expect(split.mixedGroups).toEqual(['L0_0', 'L1_0']);
    expect(crossing(split, of)).toEqual([]);
    // L1_0 went to class 0, so class 1 is cut as its other 19 lesions alone are.
    const rest = samples.filter(
      (s) => s.label === 1 && of.get(s.id)?.startsWith('L1_') && s.id !== 'c1-L0-0',
    );
    const alone = makeSplit({ labelSpace: ISIC2019, samples: rest }, { seed: 1, groups: { ...groups, of } });
    const parts = partOf(split);
    for (const part of ['train', 'val', 'test'] as const) {
      expect(alone.ids[part].length).toBeGreaterThan(0);
      expect(alone.ids[part].every((id) => parts.get(id) === part)).toBe(true);
    }
  });

  it('5 folds by lesion: every lesion in one part of each fold, every photograph tested once', () => {
    const { samples, groups } = lesionDataset(sizes);
    const tested: string[] = [];
    for (let index = 0; index < 5; index++) {
      const split = makeSplit(
        { labelSpace: ISIC2019, samples },
        { seed: 2, groups, fractions: foldFractions(5), fold: { count: 5, index } },
      );
      expect(crossing(split, groups.of)).toEqual([]);
      tested.push(...split.ids.test);
    }
    expect(tested.sort()).toEqual(samples.map((s) => s.id).sort());
  });

  it('round-trips the rule through split.json; a file without one reads as a split by image', async () => {
    const dir = await tempDir();
    const { samples, groups } = lesionDataset(sizes);
    const split = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 1, groups });
    const path = join(dir, 'split.json');
    await writeSplit(path, split);
    const json = JSON.parse(await fs.readFile(path, 'utf8'));
    expect(Object.keys(json)).toEqual(['seed', 'fractions', 'groupBy', 'metadata', 'ids']);
    expect(json).toMatchObject({ groupBy: 'lesion_id', metadata: ['ham10000_metadata.csv'] });
    const back = await readSplit(path);
    expect(back).toMatchObject({ groupBy: 'lesion_id', metadata: ['ham10000_metadata.csv'], ids: split.ids });
    await fs.writeFile(path, JSON.stringify({ seed: 1, ids: split.ids }));
    const old = await readSplit(path);
    expect(old.groupBy).toBeUndefined();
    expect(old.metadata).toBeUndefined();
    await fs.writeFile(
      path,
      JSON.stringify({ seed: 1, groupBy: 'lesion_id', metadata: 'x.csv', ids: split.ids }),
    );
    await expect(readSplit(path)).rejects.toThrow(
      `${path}: not a valid split file: "metadata" is not a list of file names`,
    );
  });
});

const HAM_TRAIN = join(SHARED_DATA, 'ham-train');
const HAVE_HAM_TRAIN = existsSync(join(HAM_TRAIN, 'ham10000_metadata.csv'));

describe.skipIf(!HAVE_HAM_TRAIN)(`ham-train (${HAM_TRAIN}) by lesion`, () => {
  it('seed 1: no lesion_id in two parts, each class within 3 images (half the largest lesion) of 10% test and 10% val; 5 folds test each image once', async () => {
    const ds = await loadDataset(HAM_TRAIN);
    const files = await findLesionMetadata([HAM_TRAIN]);
    expect(files).toEqual([join(HAM_TRAIN, 'ham10000_metadata.csv')]);
    const g = await lesionGroups(ds, files);
    expect([ds.samples.length, g.lesions, g.unlisted.length]).toEqual([6758, 5104, 0]);
    const split = makeSplit(ds, { seed: 1, groups: g.groups });
    expect(crossing(split, g.groups.of)).toEqual([]);
    expect(split.mixedGroups).toEqual([]);
    const parts = partOf(split);
    for (let label = 0; label < 8; label++) {
      const members = ds.samples.filter((s) => s.label === label);
      const n = (part: string) => members.filter((s) => parts.get(s.id) === part).length;
      // The largest lesion has 6 photographs, so a part is at most 3 images off its target.
      expect(Math.abs(n('test') - Math.round(members.length * 0.1))).toBeLessThanOrEqual(3);
      expect(Math.abs(n('val') - Math.round(members.length * 0.1))).toBeLessThanOrEqual(3);
    }
    // 5 folds: no lesion crosses parts in any, and every image is tested once.
    const tested: string[] = [];
    for (let index = 0; index < 5; index++) {
      const fold = makeSplit(ds, {
        seed: 1,
        groups: g.groups,
        fractions: foldFractions(5),
        fold: { count: 5, index },
      });
      expect(crossing(fold, g.groups.of)).toEqual([]);
      tested.push(...fold.ids.test);
    }
    expect(tested).toHaveLength(6758);
    expect(new Set(tested).size).toBe(6758);
  }, 60_000);
});
