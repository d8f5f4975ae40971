import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ISIC2019, Rng, type Sample } from '@skingan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-utils/fixtures.js';
import { testImages } from '../test-utils/test-data.js';
import { loadDataset } from './load-dataset.js';
import { foldFractions, makeSplit, readSplit, selectSplit, writeSplit } from './split.js';

const DEFAULT_SPLIT = { train: 0.8, val: 0.1, test: 0.1 };

function synthetic(perClass: number[]): Sample[] {
  return perClass.flatMap((n, label) =>
    Array.from({ length: n }, (_, i) => ({
      id: `c${label}_${String(i).padStart(3, '0')}`,
      label,
      path: `/x/${label}/${i}`,
    })),
  );
}

describe('makeSplit', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('is stratified per class with rounded val/test and train taking the rest', () => {
    const samples = synthetic([60, 10, 3, 0, 1, 25, 7, 100]);
    const split = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 1 });
    const count = (part: 'train' | 'val' | 'test', label: number) =>
      split.ids[part].filter((id) => id.startsWith(`c${label}_`)).length;
    expect([0, 1, 2, 4, 5, 6, 7].map((l) => [count('train', l), count('val', l), count('test', l)])).toEqual([
      [48, 6, 6],
      [8, 1, 1],
      [3, 0, 0],
      [1, 0, 0],
      [19, 3, 3], // 2.5 rounds up
      [5, 1, 1],
      [80, 10, 10],
    ]);
    const all = [...split.ids.train, ...split.ids.val, ...split.ids.test];
    expect(new Set(all).size).toBe(samples.length);
  });

  it('depends only on the seed, not on the order samples were listed in', () => {
    const samples = synthetic([30, 30, 30, 30, 30, 30, 30, 30]);
    const a = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 7 });
    const b = makeSplit({ labelSpace: ISIC2019, samples: new Rng(99).shuffle(samples) }, { seed: 7 });
    const c = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 8 });
    expect(b).toEqual(a);
    expect(c.ids.test).not.toEqual(a.ids.test);
  });

  it('relabelling one image leaves the other classes as they were and moves only cut images in its own', () => {
    const samples = synthetic([30, 30, 30, 30, 30, 30, 30, 30]);
    const before = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 7 });
    const moved = before.ids.test.find((id) => id.startsWith('c1_'))!;
    const after = makeSplit(
      { labelSpace: ISIC2019, samples: samples.map((s) => (s.id === moved ? { ...s, label: 6 } : s)) },
      { seed: 7 },
    );
    const partOf = (split: typeof before, id: string) =>
      (['train', 'val', 'test'] as const).find((p) => split.ids[p].includes(id));
    const changed = samples.filter((s) => partOf(before, s.id) !== partOf(after, s.id)).map((s) => s.id);
    // Class 1 lost a test image and class 6 gained one (29 and 31 images still cut 3 test, 3 val), so at
    // most the relabelled image and one image per cut of classes 1 and 6 change part.
    expect(changed.every((id) => id.startsWith('c1_') || id.startsWith('c6_'))).toBe(true);
    expect(changed.length).toBeLessThanOrEqual(1 + 2 * 2);
  });

  it('takes custom fractions and rejects bad ones', () => {
    const samples = synthetic([20]);
    const split = makeSplit(
      { labelSpace: ISIC2019, samples },
      { seed: 0, fractions: { train: 0.5, val: 0.25, test: 0.25 } },
    );
    expect([split.ids.train.length, split.ids.val.length, split.ids.test.length]).toEqual([10, 5, 5]);
    expect(() =>
      makeSplit({ labelSpace: ISIC2019, samples }, { seed: 0, fractions: { train: 0.9 } }),
    ).toThrow('split fractions must be in [0, 1] and sum to 1, got 0.9/0.1/0.1');
  });

  it('round-trips through split.json and selects parts', async () => {
    const samples = synthetic([10, 10]);
    const split = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 3 });
    const path = join(dir, 'split.json');
    await writeSplit(path, split);
    const json = JSON.parse(await fs.readFile(path, 'utf8'));
    expect(Object.keys(json)).toEqual(['seed', 'fractions', 'ids']);
    const back = await readSplit(path);
    expect(back.ids).toEqual(split.ids);
    const dataset = { samples, skippedIds: new Set<string>() };
    const test = selectSplit(dataset, back, 'test');
    expect(test.map((s) => s.id)).toEqual(split.ids.test);
    expect(test[0]).toBe(samples.find((s) => s.id === split.ids.test[0]));
  });

  it('selectSplit: ids the dataset skipped are left out, unknown ids are an error', async () => {
    const samples = synthetic([10]);
    const split = makeSplit({ labelSpace: ISIC2019, samples }, { seed: 3 });
    const fewer = samples.filter((s) => s.id !== split.ids.train[0]);
    expect(
      selectSplit({ samples: fewer, skippedIds: new Set([split.ids.train[0]!]) }, split, 'train'),
    ).toHaveLength(7);
    const path = join(dir, 'other.json');
    await writeSplit(path, split);
    await expect(async () =>
      selectSplit({ samples: fewer, skippedIds: new Set() }, await readSplit(path), 'train'),
    ).rejects.toThrow(`${path}: the train part names ids this dataset does not have: ${split.ids.train[0]}`);
  });

  it('readSplit names the file and the defect', async () => {
    const path = join(dir, 'bad.json');
    await fs.writeFile(path, '{"seed": 1, "ids": {"train": ["a"], "val": ["a"], "test": []}}');
    await expect(readSplit(path)).rejects.toThrow(
      `${path}: not a valid split file: id a is in both train and val`,
    );
    await fs.writeFile(path, '{"seed": 1, "ids": {"train": ["a"]}}');
    await expect(readSplit(path)).rejects.toThrow('"ids.val" is not a list of ids');
    await expect(readSplit(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it(`${testImages().name}, seed 7: 48/6/6 per class, disjoint`, async () => {
    const ds = await loadDataset(testImages().dir);
    const split = makeSplit(ds, { seed: 7 });
    const labelOf = new Map(ds.samples.map((s) => [s.id, s.label]));
    for (let label = 0; label < 8; label++) {
      const n = (part: 'train' | 'val' | 'test') =>
        split.ids[part].filter((id) => labelOf.get(id) === label).length;
      expect([n('train'), n('val'), n('test')]).toEqual([48, 6, 6]);
    }
    const all = [...split.ids.train, ...split.ids.val, ...split.ids.test];
    expect(new Set(all).size).toBe(480);
  });

  it('K folds: the test parts partition every class, val follows test (wrapping), fold 0 is the single split', () => {
    const samples = synthetic([23, 10, 7]);
    const fractions = foldFractions(5);
    expect(fractions).toEqual({ train: 0.7, val: 0.1, test: 0.2 });
    const folds = [0, 1, 2, 3, 4].map((index) =>
      makeSplit({ labelSpace: ISIC2019, samples }, { seed: 4, fractions, fold: { count: 5, index } }),
    );
    const tested = folds.flatMap((f) => f.ids.test).sort();
    expect(tested).toEqual(samples.map((s) => s.id).sort());
    for (const [index, f] of folds.entries()) {
      expect(f.fold).toEqual({ count: 5, index });
      expect(new Set([...f.ids.train, ...f.ids.val, ...f.ids.test]).size).toBe(samples.length);
      for (const [label, n] of [
        [0, 23],
        [1, 10],
        [2, 7],
      ] as const) {
        const count = (part: 'val' | 'test') =>
          f.ids[part].filter((id) => id.startsWith(`c${label}_`)).length;
        // Test: the stretch between the rounded boundaries k·n/5 and (k+1)·n/5; val: round(n/10).
        expect(count('test')).toBe(Math.round(((index + 1) * n) / 5) - Math.round((index * n) / 5));
        expect(count('val')).toBe(Math.round(n / 10));
      }
    }
    // The last fold's val part wraps around to the first images of the order: fold 0's test.
    expect(folds[4]!.ids.val.every((id) => folds[0]!.ids.test.includes(id))).toBe(true);
    expect(folds[0]!.ids).toEqual(makeSplit({ labelSpace: ISIC2019, samples }, { seed: 4, fractions }).ids);
  });

  it('a fold is checked and recorded in split.json', async () => {
    const samples = synthetic([20]);
    const split = (fold: { count: number; index: number }, fractions = foldFractions(fold.count)) =>
      makeSplit({ labelSpace: ISIC2019, samples }, { seed: 1, fractions, fold });
    expect(() => split({ count: 5, index: 5 })).toThrow(
      'a fold needs 2 or more folds and an index 0 … folds − 1, got fold 5 of 5',
    );
    expect(() => split({ count: 5, index: 1 }, DEFAULT_SPLIT)).toThrow(
      'with 5 folds the test part is 1/5 of each class, but the test fraction is 0.1',
    );
    const path = join(dir, 'fold.json');
    await writeSplit(path, split({ count: 4, index: 3 }));
    expect(Object.keys(JSON.parse(await fs.readFile(path, 'utf8')))).toEqual([
      'seed',
      'fractions',
      'fold',
      'ids',
    ]);
    expect((await readSplit(path)).fold).toEqual({ count: 4, index: 3 });
    await fs.writeFile(
      path,
      '{"seed": 1, "fold": {"count": 4, "index": 4}, "ids": {"train": [], "val": [], "test": []}}',
    );
    await expect(readSplit(path)).rejects.toThrow(
      'not a valid split file: "fold" is not {"count": K, "index": 0 … K − 1}',
    );
  });
});
