import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@skingan/core';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBatchSource } from '../batches/batch-source.js';
import { loadDataset } from '../dataset/load-dataset.js';
import { prepareDataset } from '../prepare/prepare.js';
import type { Problem } from '../problems.js';
import { makeDataset, tempDir } from '../test-utils/fixtures.js';
import { checkImages } from './check-images.js';
import { decodeImageBytes, decodeReason } from './decode.js';

/** Issue 20 items 10 and 11: the decoder's reason, transparency and a decode check, said once and clearly. */
describe('undecodable and transparent images', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
    dir = await tempDir();
  });

  it('decodeReason: sharp\'s reason as is; "Unknown error" or none → what the file looks like; empty → "the file is empty (0 bytes)"', () => {
    expect(decodeReason(new Error('pngload_buffer: end of stream\nmore'))).toBe(
      'pngload_buffer: end of stream',
    );
    expect(decodeReason(new Error('Unknown error'), new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1]))).toBe(
      'the decoder gave no reason; the file (5 bytes, starting ff d8 ff e0) looks like a JPEG that is damaged or truncated',
    );
    expect(decodeReason(new Error(''), new Uint8Array([0x47, 0x49, 0x46, 0x38]))).toBe(
      'the decoder gave no reason; the file (4 bytes, starting 47 49 46 38) looks like neither a JPEG nor a PNG',
    );
    expect(decodeReason(new Error('Input Buffer is empty'), new Uint8Array(0))).toBe(
      'the file is empty (0 bytes)',
    );
  });

  it('checkImages on a zero-byte, a truncated and a good PNG → two problems with their reasons', async () => {
    const root = join(dir, 'check');
    await makeDataset(root, [
      { id: 'good', className: 'NV' },
      { id: 'empty', className: 'NV' },
      { id: 'cut', className: 'MEL' },
    ]);
    await fs.writeFile(join(root, 'images', 'empty.png'), '');
    const good = await fs.readFile(join(root, 'images', 'good.png'));
    await fs.writeFile(join(root, 'images', 'cut.png'), good.subarray(0, 40));
    const ds = await loadDataset(root);
    const problems = await checkImages(ds.samples);
    expect(problems.map((p) => [p.id, p.message])).toEqual([
      ['empty', 'cannot decode image: the file is empty (0 bytes)'],
      ['cut', expect.stringMatching(/^cannot decode image: .+/)],
    ]);
    expect(problems[1]!.message).not.toMatch(/Unknown error/);
  });

  it('transparent pixels: decodeImageBytes notes them; a batch source and prepare warn once per dataset with the count', async () => {
    const root = join(dir, 'alpha');
    await makeDataset(
      root,
      ['a', 'b', 'c', 'd'].map((id) => ({ id, className: 'NV' })),
    );
    const rgba = Buffer.alloc(8 * 8 * 4, 200);
    for (let i = 0; i < 32; i++) rgba[4 * i + 3] = 0; // top half transparent
    for (const id of ['a', 'c']) {
      await sharp(rgba, { raw: { width: 8, height: 8, channels: 4 } })
        .png()
        .toFile(join(root, 'images', `${id}.png`));
    }
    // Opaque RGBA does not count.
    await sharp(Buffer.alloc(8 * 8 * 4, 255), { raw: { width: 8, height: 8, channels: 4 } })
      .png()
      .toFile(join(root, 'images', 'd.png'));
    let noted = 0;
    await decodeImageBytes(join(root, 'images', 'a.png'), 8, { onTransparent: () => noted++ });
    await decodeImageBytes(join(root, 'images', 'd.png'), 8, { onTransparent: () => noted++ });
    expect(noted).toBe(1);

    const ds = await loadDataset(root);
    const reported: Problem[] = [];
    const source = createBatchSource(ds.samples, {
      imageSize: 8,
      batchSize: 2,
      seed: 1,
      onProblem: (p) => reported.push(p),
    });
    for (const epoch of [0, 1]) {
      for await (const b of source.epoch(epoch)) {
        b.images.dispose();
        b.labels.dispose();
      }
    }
    source.dispose();
    const expected =
      '2 of 4 images have transparent pixels, which become the colour under them (black in most files): alpha is dropped. Flatten them onto the background you want first if black is wrong';
    expect(reported).toEqual([{ file: join(root, 'images'), message: expected }]);
    expect(source.skipped).toBe(0);

    const prepared = await prepareDataset(root, join(dir, 'alpha-prepared'), { size: 8 });
    expect(prepared.problems.map((p) => p.message)).toEqual([expected]);
  });
});
