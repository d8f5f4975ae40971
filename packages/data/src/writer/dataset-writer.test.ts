import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ISIC2019, initBackend, subLabelSpace } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../dataset/load-dataset.js';
import { decodeImage, decodeImageBytes } from '../image/decode.js';
import { tempDir } from '../test-utils/fixtures.js';
import { DatasetWriter } from './dataset-writer.js';

const readLines = async (path: string) => (await fs.readFile(path, 'utf8')).split('\n').filter(Boolean);

describe('DatasetWriter', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
    dir = await tempDir();
  });

  it('locks its folder from open to close: a writer in another live process is refused, naming it', async () => {
    const out = join(dir, 'locked');
    const space = subLabelSpace(ISIC2019, ['NV']);
    const writer = await DatasetWriter.open(out, { labelSpace: space, command: 'acgan sample' });
    const lock = JSON.parse(await fs.readFile(join(out, '.skingan.lock'), 'utf8'));
    expect(lock).toMatchObject({ pid: process.pid, host: hostname(), command: 'acgan sample' });
    await writer.close();
    await expect(fs.stat(join(out, '.skingan.lock'))).rejects.toThrow(/ENOENT/);

    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const held = { pid: other.pid, host: hostname(), command: 'cyclegan translate', startedAt: 'x' };
      await fs.writeFile(join(out, '.skingan.lock'), JSON.stringify(held));
      await expect(DatasetWriter.open(out, { labelSpace: space, resume: true })).rejects.toThrow(
        `another process is writing into this folder: \`cyclegan translate\` (pid ${other.pid}`,
      );
    } finally {
      other.kill();
    }
  });

  it('writes images, labels.csv and provenance.jsonl that loadDataset reads back', async () => {
    const out = join(dir, 'set');
    const space = subLabelSpace(ISIC2019, ['NV', 'MEL']);
    const writer = await DatasetWriter.open(out, { labelSpace: space, meta: { generator: 'test' } });
    const images = tf.tidy(() => tf.stack([tf.fill([4, 4, 3], -1), tf.fill([4, 4, 3], 0.5)]) as tf.Tensor4D);
    const ids = await writer.add(images, [1, 0], undefined, [{ seed: 1 }, { seed: 2 }]);
    expect(ids).toEqual(['syn_MEL_000000', 'syn_NV_000001']);
    const single = tf.fill([4, 4, 3], 1) as tf.Tensor3D;
    await writer.add([single], [0], ['custom_id']);
    await writer.close();
    expect(writer.countPerClass()).toEqual({ NV: 2, MEL: 1 });

    const ds = await loadDataset(out);
    expect(ds.samples.map((s) => [s.id, ISIC2019.classes[s.label]])).toEqual([
      ['syn_MEL_000000', 'MEL'],
      ['syn_NV_000001', 'NV'],
      ['custom_id', 'NV'],
    ]);
    expect(ds.roots[0]?.synthetic).toBe(true);
    expect(ds.problems).toEqual([]);
    expect((await decodeImage(ds.samples[1]!.path, 4))[0]).toBeCloseTo(0.5, 2);
    expect((await readLines(join(out, 'provenance.jsonl'))).map((l) => JSON.parse(l))).toEqual([
      { id: 'syn_MEL_000000', class: 'MEL', seed: 1 },
      { id: 'syn_NV_000001', class: 'NV', seed: 2 },
      { id: 'custom_id', class: 'NV' },
    ]);
    expect(JSON.parse(await fs.readFile(join(out, 'dataset.json'), 'utf8'))).toMatchObject({
      synthetic: true,
      generator: 'test',
    });
    tf.dispose([images, single]);
  });

  it('refuses to touch an existing dataset unless resuming, and rejects bad input', async () => {
    const out = join(dir, 'existing');
    const writer = await DatasetWriter.open(out, { labelSpace: ISIC2019 });
    await expect(DatasetWriter.open(out, { labelSpace: ISIC2019 })).rejects.toThrow(
      `${out}: this folder already holds a dataset`,
    );
    // A command without a resume flag (acgan sample) must not advise one.
    await expect(DatasetWriter.open(out, { labelSpace: ISIC2019 })).rejects.toMatchObject({
      hint: 'choose another output folder, or delete this one to write it anew',
    });
    await expect(
      DatasetWriter.open(out, { labelSpace: ISIC2019, resumeFlag: '--resume' }),
    ).rejects.toMatchObject({
      hint: 'pass --resume to add to it, or choose another output folder',
    });
    const img = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    await expect(writer.add(img, [0, 1])).rejects.toThrow('add: 1 images but 2 labels');
    await expect(writer.add(img, [8])).rejects.toThrow('add: label 8 is not an index of');
    await expect(writer.add(img, [0], ['../x'])).rejects.toThrow('image id "../x" is a path');
    await writer.add(img, [0], ['a']);
    await expect(writer.add(img, [0], ['a'])).rejects.toThrow('add: image id a is already in the dataset');
    // RGB bytes (no tfjs backend needed) must hold width × height × 3 of them.
    const rgb = { data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]), width: 2, height: 2 };
    await writer.add([rgb], [0], ['rgb']);
    expect([...(await decodeImageBytes(join(out, 'images', 'rgb.png'), 2))]).toEqual([...rgb.data]);
    await expect(writer.add([{ ...rgb, height: 3 }], [0], ['b'])).rejects.toThrow(
      'add: 12 bytes for a 2×3 RGB image',
    );
    await expect(
      DatasetWriter.open(join(dir, 'unk'), { labelSpace: { name: 'x', classes: ['UNKNOWN'] } }),
    ).rejects.toThrow('class "UNKNOWN" has no column in the ISIC 2019 labels format');
    img.dispose();
  });

  it('resumes after a kill: drops the uncommitted batch and continues the numbering', async () => {
    const out = join(dir, 'killed');
    const writer = await DatasetWriter.open(out, { labelSpace: ISIC2019 });
    const img = tf.zeros([2, 2, 2, 3]) as tf.Tensor4D;
    await writer.add(img, [0, 1], undefined, [{ n: 0 }, { n: 1 }]);
    // What a kill during the next add leaves: its images and part of its provenance, no labels row.
    await fs.copyFile(join(out, 'images', 'syn_MEL_000000.png'), join(out, 'images', 'syn_MEL_000002.png'));
    await fs.writeFile(join(out, 'images', '.syn_MEL_000003.png.tmp-999999999-0123abcd'), 'half');
    await fs.appendFile(
      join(out, 'provenance.jsonl'),
      '{"id":"syn_MEL_000002","class":"MEL"}\n{"id":"syn_ME',
    );

    const resumed = await DatasetWriter.open(out, { labelSpace: ISIC2019, resume: true });
    expect(resumed.size).toBe(2);
    expect((await fs.readdir(join(out, 'images'))).sort()).toEqual([
      'syn_MEL_000000.png',
      'syn_NV_000001.png',
    ]);
    expect(await readLines(join(out, 'provenance.jsonl'))).toHaveLength(2);
    expect(await resumed.add(img, [2, 2])).toEqual(['syn_BCC_000002', 'syn_BCC_000003']);
    await resumed.close();
    const ds = await loadDataset(out);
    expect(ds.samples).toHaveLength(4);
    expect(ds.problems).toEqual([]);
    expect(await readLines(join(out, 'provenance.jsonl'))).toHaveLength(4);
    img.dispose();
  });
});
