import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelsCsv } from '../csv/labels-csv.js';
import { readProvenance } from '../dataset/provenance.js';
import { decodeImageBytes } from '../image/decode.js';
import { HEADER, row, tempDir, writeTestImage } from '../test-utils/fixtures.js';
import { augmentViews } from './augment-views.js';

const SIZE = 8;
/** Only the flip: each view is the image or its mirror, nothing else changes a pixel. */
const FLIP_ONLY = { flip: true, rot90: false, zoom: 0, shift: 0, brightness: 0, contrast: 0, saturation: 0 };

let dir: string;
beforeAll(async () => {
  dir = await tempDir('skingan-views-');
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A dataset folder of SIZE² PNGs with no symmetry (every pixel differs), one per (id, class). */
async function folder(name: string, rows: [string, string][]): Promise<string> {
  const root = join(dir, name);
  await fs.mkdir(join(root, 'images'), { recursive: true });
  await fs.writeFile(
    join(root, 'labels.csv'),
    `${[HEADER, ...rows.map(([id, c]) => row(id, c))].join('\n')}\n`,
  );
  for (const [i, [id]] of rows.entries()) {
    await writeTestImage(join(root, 'images', `${id}.png`), SIZE, SIZE, (x, y) => [x * 30, y * 30, 40 * i]);
  }
  return root;
}

/** The RGB bytes of a written view. */
const pixels = async (path: string) => new Uint8Array(await sharp(path).raw().toBuffer());

/** `rgb` (SIZE² HWC) mirrored left to right. */
function mirror(rgb: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++)
      out.set(rgb.subarray((y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3), (y * SIZE + SIZE - 1 - x) * 3);
  return out;
}

async function checksums(out: string): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  for (const name of (await fs.readdir(join(out, 'images'))).sort()) {
    sums[name] = createHash('sha256')
      .update(await fs.readFile(join(out, 'images', name)))
      .digest('hex');
  }
  return sums;
}

describe('augmentViews', () => {
  it('with only the flip configured, writes each image or its exact mirror, both among 8 views', async () => {
    const src = await folder('flip', [['a', 'MEL']]);
    const out = join(dir, 'flip-views');
    const r = await augmentViews(src, out, { views: 8, seed: 3, size: SIZE, augment: FLIP_ONLY });
    expect(r).toEqual({ dir: out, sources: 1, total: 8, perClass: { MEL: 8 } });
    const original = await decodeImageBytes(join(src, 'images', 'a.png'), SIZE);
    const mirrored = mirror(original);
    expect(mirrored).not.toEqual(original);
    const kinds = [];
    for (let k = 0; k < 8; k++) {
      const view = await pixels(join(out, 'images', `a_v${k}.png`));
      if (Buffer.from(view).equals(Buffer.from(mirrored))) kinds.push('mirror');
      else if (Buffer.from(view).equals(Buffer.from(original))) kinds.push('same');
      else kinds.push('other');
    }
    expect(kinds).not.toContain('other');
    expect(new Set(kinds)).toEqual(new Set(['mirror', 'same']));
  });

  it('writes labels and provenance per view; reruns are byte-identical; a view does not depend on the other images', async () => {
    const all = await folder('all', [
      ['a', 'MEL'],
      ['b', 'NV'],
      ['c', 'NV'],
    ]);
    const out = join(dir, 'views');
    const r = await augmentViews(all, out, { views: 2, seed: 5, size: SIZE });
    expect(r).toMatchObject({ sources: 3, total: 6, perClass: { MEL: 2, NV: 4 } });
    const labels = await readLabelsCsv(join(out, 'labels.csv'));
    expect(labels.rows.map((x) => [x.id, x.className])).toEqual([
      ['a_v0', 'MEL'],
      ['a_v1', 'MEL'],
      ['b_v0', 'NV'],
      ['b_v1', 'NV'],
      ['c_v0', 'NV'],
      ['c_v1', 'NV'],
    ]);
    const prov = (await readProvenance(out)).map((p) => p.record);
    expect(prov[3]).toEqual({
      id: 'b_v1',
      class: 'NV',
      source: 'b',
      sourcePath: join(all, 'images', 'b.png'),
      view: 1,
      seed: 5,
      size: SIZE,
    });
    const meta = JSON.parse(await fs.readFile(join(out, 'dataset.json'), 'utf8'));
    expect(meta).toMatchObject({ kind: 'augment-views', synthetic: false, views: 2, seed: 5, size: SIZE });

    const sums = await checksums(out);
    // The two views of an image differ (the default augmentation always moves the crop or the colours).
    expect(sums['a_v0.png']).not.toBe(sums['a_v1.png']);
    // Rerun into the same folder: replaced by identical files.
    await augmentViews(all, out, { views: 2, seed: 5, size: SIZE });
    expect(await checksums(out)).toEqual(sums);
    // b alone (a split's train part): the same views of b.
    const split = join(dir, 'split.json');
    await fs.writeFile(
      split,
      JSON.stringify({
        seed: 1,
        fractions: { train: 0.4, val: 0.3, test: 0.3 },
        ids: { train: ['b'], val: ['a'], test: ['c'] },
      }),
    );
    const part = join(dir, 'views-b');
    expect(
      await augmentViews(all, part, { views: 2, seed: 5, size: SIZE, split, part: 'train' }),
    ).toMatchObject({
      total: 2,
      perClass: { NV: 2 },
    });
    expect(await checksums(part)).toEqual({ 'b_v0.png': sums['b_v0.png'], 'b_v1.png': sums['b_v1.png'] });
    // Another seed draws other views.
    const other = join(dir, 'views-seed6');
    await augmentViews(all, other, { views: 2, seed: 6, size: SIZE });
    expect((await checksums(other))['a_v0.png']).not.toBe(sums['a_v0.png']);
  });

  it('refuses bad input with the file named, leaving no partial dataset', async () => {
    await expect(augmentViews(join(dir, 'nope'), join(dir, 'x'), { views: 1 })).rejects.toMatchObject({
      message: `${join(dir, 'nope')}: no such dataset folder`,
      file: join(dir, 'nope'),
    });
    const src = await folder('broken', [
      ['a', 'MEL'],
      ['b', 'NV'],
    ]);
    await expect(augmentViews(src, join(dir, 'x'), { views: 0 })).rejects.toThrow(
      'views per image must be a positive integer, got 0',
    );
    await fs.writeFile(join(src, 'images', 'b.png'), 'not a png');
    const out = join(dir, 'broken-views');
    await expect(augmentViews(src, out, { views: 1, size: SIZE, batchSize: 1 })).rejects.toMatchObject({
      message: expect.stringContaining(`${join(src, 'images', 'b.png')}: cannot decode image`),
      file: join(src, 'images', 'b.png'),
    });
    // a's view was written before b failed: neither the folder nor its temp sibling is left.
    expect((await fs.readdir(dir)).filter((n) => n.includes('broken-views'))).toEqual([]);
  });
});
