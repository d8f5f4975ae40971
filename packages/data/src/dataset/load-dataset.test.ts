import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ISIC2019 } from '@skingan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER, makeDataset, row, tempDir, writeTestImage } from '../test-utils/fixtures.js';
import { testImages } from '../test-utils/test-data.js';
import { countPerClass, loadDataset } from './load-dataset.js';

describe('loadDataset', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('reads a folder: absolute paths, labels indexing ISIC 2019, CSV order', async () => {
    const root = join(dir, 'folder');
    await makeDataset(root, [
      { id: 'b', className: 'NV' },
      { id: 'a', className: 'SCC' },
    ]);
    const ds = await loadDataset(root);
    expect(ds.labelSpace).toBe(ISIC2019);
    expect(ds.samples).toEqual([
      { id: 'b', label: 1, path: join(root, 'images', 'b.png') },
      { id: 'a', label: 7, path: join(root, 'images', 'a.png') },
    ]);
    expect(ds.problems).toEqual([]);
    expect(ds.roots[0]).toMatchObject({ layout: 'folder', synthetic: false, samples: 2 });
  });

  it('reads the official ISIC 2019 layout, ignoring non-image files', async () => {
    const root = join(dir, 'official');
    await fs.mkdir(join(root, 'ISIC_2019_Training_Input'), { recursive: true });
    await fs.writeFile(
      join(root, 'ISIC_2019_Training_GroundTruth.csv'),
      `${HEADER}\n${row('ISIC_0000000', 'NV')}\n`,
    );
    await writeTestImage(join(root, 'ISIC_2019_Training_Input', 'ISIC_0000000.jpg'), 4, 4, () => [1, 2, 3]);
    await fs.writeFile(join(root, 'ISIC_2019_Training_Input', 'LICENSE.txt'), 'CC BY-NC');
    const ds = await loadDataset(root);
    expect(ds.roots[0]?.layout).toBe('isic2019');
    expect(ds.samples).toEqual([
      { id: 'ISIC_0000000', label: 1, path: join(root, 'ISIC_2019_Training_Input', 'ISIC_0000000.jpg') },
    ]);
    expect(ds.problems).toEqual([]);
  });

  it('reports a missing image and an image without a row, and fails on them under strict', async () => {
    const root = join(dir, 'gaps');
    await makeDataset(root, [
      { id: 'a', className: 'MEL' },
      { id: 'orphan', className: 'MEL' },
    ]);
    await fs.writeFile(join(root, 'labels.csv'), `${HEADER}\n${row('a', 'MEL')}\n${row('gone', 'NV')}\n`);
    const ds = await loadDataset(root);
    expect(ds.samples.map((s) => s.id)).toEqual(['a']);
    expect(ds.problems).toEqual([
      {
        file: join(root, 'labels.csv'),
        line: 3,
        id: 'gone',
        message: `no image for gone in ${join(root, 'images')} (row skipped)`,
      },
      {
        file: join(root, 'images', 'orphan.png'),
        id: 'orphan',
        message: `orphan.png has no row in ${join(root, 'labels.csv')} (ignored)`,
      },
    ]);
    expect(ds.skippedIds.has('gone')).toBe(true);
    await expect(loadDataset(root, { strict: true })).rejects.toThrow(
      `${join(root, 'labels.csv')}:3: no image for gone in ${join(root, 'images')} (row skipped)`,
    );
  });

  it('counts UNK rows as one problem', async () => {
    const root = join(dir, 'unk');
    await makeDataset(root, [{ id: 'a', className: 'MEL' }]);
    await fs.appendFile(join(root, 'labels.csv'), `${row('u1', 'UNK')}\n${row('u2', 'UNK')}\n`);
    const ds = await loadDataset(root);
    expect(ds.problems.map((p) => p.message)).toEqual(['2 rows labelled UNK skipped']);
  });

  it('loadDataset on a UNK row whose image exists → one "labelled UNK skipped" problem, not also "has no row"', async () => {
    const root = join(dir, 'unk-with-image');
    await makeDataset(root, [
      { id: 'a', className: 'MEL' },
      { id: 'u1', className: 'NV' },
    ]);
    await fs.writeFile(join(root, 'labels.csv'), `${HEADER}\n${row('a', 'MEL')}\n${row('u1', 'UNK')}\n`);
    const ds = await loadDataset(root);
    expect(ds.samples.map((s) => s.id)).toEqual(['a']);
    expect(ds.problems.map((p) => p.message)).toEqual(['1 row labelled UNK skipped']);
  });

  it('merges a list of folders and reads the synthetic flag', async () => {
    const real = join(dir, 'real');
    const syn = join(dir, 'syn');
    await makeDataset(real, [{ id: 'r1', className: 'NV' }]);
    await makeDataset(syn, [{ id: 's1', className: 'MEL' }]);
    await fs.writeFile(join(syn, 'dataset.json'), '{"synthetic": true}');
    const ds = await loadDataset([real, syn]);
    expect(ds.samples.map((s) => s.id)).toEqual(['r1', 's1']);
    expect(ds.roots.map((r) => r.synthetic)).toEqual([false, true]);
    const clash = join(dir, 'clash');
    await makeDataset(clash, [{ id: 'r1', className: 'MEL' }]);
    await expect(loadDataset([real, clash])).rejects.toThrow(
      `image id r1 is in two dataset folders: ${real} and ${clash}`,
    );
  });

  it('filters classes: labels index the subset, other ids are skipped', async () => {
    const root = join(dir, 'filter');
    await makeDataset(root, [
      { id: 'm', className: 'MEL' },
      { id: 'n', className: 'NV' },
      { id: 'b', className: 'BCC' },
    ]);
    const ds = await loadDataset(root, { classes: ['NV', 'MEL'] });
    expect(ds.labelSpace.classes).toEqual(['NV', 'MEL']);
    expect(ds.samples.map((s) => [s.id, s.label])).toEqual([
      ['m', 1],
      ['n', 0],
    ]);
    expect([...ds.skippedIds]).toEqual(['b']);
    await expect(loadDataset(root, { classes: ['XYZ'] })).rejects.toThrow('unknown class "XYZ"');
  });

  it('says what a dataset folder needs', async () => {
    await expect(loadDataset(join(dir, 'nowhere'))).rejects.toThrow('no such dataset folder');
    const empty = join(dir, 'empty');
    await fs.mkdir(empty);
    await expect(loadDataset(empty)).rejects.toThrow(
      'not a dataset folder: it has neither labels.csv nor ISIC_2019_Training_GroundTruth.csv',
    );
  });

  it(`${testImages().name}: 480 images, 60 per class, no problems`, async () => {
    const ds = await loadDataset(testImages().dir);
    expect(ds.samples).toHaveLength(480);
    expect(countPerClass(ds)).toEqual({
      MEL: 60,
      NV: 60,
      BCC: 60,
      AK: 60,
      BKL: 60,
      DF: 60,
      VASC: 60,
      SCC: 60,
    });
    expect(ds.problems).toEqual([]);
  });
});
