import { join } from 'node:path';
import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../test-utils/fixtures.js';
import { decodeImage } from './decode.js';
import { floatToBytes, tensorToJpeg, tensorToPng, writeImage } from './encode.js';
import { gridImage, writeGrid } from './grid.js';

describe('encode', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
    dir = await tempDir();
  });

  it('maps [-1, 1] to bytes, rounding and clamping', () => {
    expect([...floatToBytes([-1, 1, 0, -2, 2, 0.5, -0.999])]).toEqual([0, 255, 128, 0, 255, 191, 0]);
  });

  it('PNG round-trips every byte level exactly', async () => {
    const levels = Array.from({ length: 16 * 16 * 3 }, (_, i) => (i % 256) / 127.5 - 1);
    const image = tf.tensor3d(levels, [16, 16, 3]);
    const png = await tensorToPng(image);
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect([...data]).toEqual(levels.map((_, i) => i % 256));
    const path = join(dir, 'x.png');
    await writeImage(path, image);
    expect([...(await decodeImage(path, 16))]).toEqual(levels.map((v) => Math.fround(v)));
    image.dispose();
  });

  it('writes JPEG by extension and refuses other extensions', async () => {
    const image = tf.fill([8, 8, 3], 0.2) as tf.Tensor3D;
    const jpg = await tensorToJpeg(image);
    expect((await sharp(jpg).metadata()).format).toBe('jpeg');
    await writeImage(join(dir, 'x.jpg'), image);
    expect((await sharp(join(dir, 'x.jpg')).metadata()).format).toBe('jpeg');
    await expect(writeImage(join(dir, 'x.gif'), image)).rejects.toThrow(
      'cannot write ".gif" images; use .png or .jpg',
    );
    image.dispose();
  });
});

describe('grid', () => {
  let dir0: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
    dir0 = await tempDir();
  });
  const colors = [
    [1, -1, -1],
    [-1, 1, -1],
    [-1, -1, 1],
  ];
  const batch = () =>
    tf.tidy(() => tf.stack(colors.map((c) => tf.broadcastTo(tf.tensor1d(c), [4, 4, 3]))) as tf.Tensor4D);
  const at = (g: { data: Uint8Array; width: number }, x: number, y: number) => [
    ...g.data.subarray((y * g.width + x) * 3, (y * g.width + x) * 3 + 3),
  ];

  it('fills rows left to right with padding and background', () => {
    const images = batch();
    const g = gridImage(images, { rows: 2, padding: 1 });
    expect([g.width, g.height]).toEqual([11, 11]);
    expect(at(g, 1, 1)).toEqual([255, 0, 0]); // image 0 at row 0, col 0
    expect(at(g, 6, 4)).toEqual([0, 255, 0]); // image 1 at row 0, col 1
    expect(at(g, 1, 6)).toEqual([0, 0, 255]); // image 2 at row 1, col 0
    expect(at(g, 6, 6)).toEqual([255, 255, 255]); // empty slot
    expect(at(g, 5, 1)).toEqual([255, 255, 255]); // padding between columns
    expect(() => gridImage(images, { rows: 1, cols: 2 })).toThrow('a 1×2 grid cannot hold 3 images');
    expect(() => gridImage(images, { rows: 2, rowLabels: ['A'] })).toThrow('1 row labels for 2 rows');
    images.dispose();
  });

  it('draws row labels left of the rows without any font installed', async () => {
    const images = tf.tidy(() => tf.tile(batch(), [1, 8, 8, 1]) as tf.Tensor4D); // 32×32 images
    const plain = gridImage(images, { rows: 3, cols: 1 });
    const labelled = gridImage(images, { rows: 3, cols: 1, rowLabels: ['MEL', 'NV', 'VASC'] });
    expect(labelled.height).toBe(plain.height);
    // font scale 1 at 32 px: "VASC" is 4 × 6 - 1 = 23 px wide, plus padding.
    expect(labelled.width).toBe(plain.width + 23 + 2);
    const dark = (y0: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = 0; x < 25; x++) if (at(labelled, x, y)[0]! < 100) n++;
      return n;
    };
    expect(dark(2, 34)).toBeGreaterThan(20); // MEL
    expect(dark(36, 68)).toBeGreaterThan(10); // NV
    expect(dark(70, 102)).toBeGreaterThan(20); // VASC
    const path = join(dir0, 'grid.png');
    await writeGrid(path, images, { rows: 3, rowLabels: ['MEL', 'NV', 'VASC'] });
    const meta = await sharp(path).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', labelled.width, labelled.height]);
    images.dispose();
  });
});
