import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeTestImage } from '../test-utils/fixtures.js';
import { HAVE_ISIC_FULLRES, ISIC_FULLRES, NO_PHOTOGRAPHS } from '../test-utils/test-data.js';
import { decodeImage, decodeImageBytes, loadImages } from './decode.js';

/** The pixel (x, y) of an HWC byte image of width `w`. */
const px = (bytes: Uint8Array, w: number, x: number, y: number) => [
  ...bytes.subarray((y * w + x) * 3, (y * w + x) * 3 + 3),
];
const coded = (x: number, y: number): [number, number, number] => [x * 30, y * 50, 7];

describe('decodeImage', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
    dir = await tempDir();
  });

  it('center-crops the long side like PIL: offset (w - size) // 2', async () => {
    const even = join(dir, 'six.png');
    await writeTestImage(even, 6, 4, coded);
    const bytes = await decodeImageBytes(even, 4);
    expect(bytes).toHaveLength(4 * 4 * 3);
    for (let y = 0; y < 4; y++)
      for (let x = 0; x < 4; x++) expect(px(bytes, 4, x, y)).toEqual(coded(x + 1, y));
    const odd = join(dir, 'seven.png');
    await writeTestImage(odd, 4, 7, coded);
    const b7 = await decodeImageBytes(odd, 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) expect(px(b7, 4, x, y)).toEqual(coded(x, y + 1));
  });

  it('maps bytes to [-1, 1] as x / 127.5 - 1', async () => {
    const path = join(dir, 'levels.png');
    await writeTestImage(path, 2, 2, (x, y) => [[0, 255][x]!, [51, 204][y]!, 128]);
    const values = await decodeImage(path, 2);
    expect([...values]).toEqual(
      [0, 51, 128, 255, 51, 128, 0, 204, 128, 255, 204, 128].map((b) => Math.fround(b / 127.5 - 1)),
    );
    expect(values[0]).toBe(-1);
    expect(values[3]).toBe(1);
  });

  it('resizes the short side with a bicubic kernel (a uniform image stays uniform)', async () => {
    const path = join(dir, 'uniform.png');
    await writeTestImage(path, 30, 20, () => [200, 100, 50]);
    const bytes = await decodeImageBytes(path, 8);
    for (let i = 0; i < bytes.length; i += 3) expect(px(bytes, 1, i / 3, 0)).toEqual([200, 100, 50]);
    // A horizontal ramp keeps its mean and direction after a 2× reduction.
    const ramp = join(dir, 'ramp.png');
    await writeTestImage(ramp, 16, 16, (x) => [x * 16, 0, 0]);
    const r = await decodeImageBytes(ramp, 8);
    const row = Array.from({ length: 8 }, (_, x) => px(r, 8, x, 3)[0]!);
    for (let x = 1; x < 8; x++) expect(row[x]!).toBeGreaterThan(row[x - 1]!);
    expect(row.reduce((a, b) => a + b, 0) / 8).toBeCloseTo(120, -1);
  });

  it('drops alpha without compositing, and expands gray to RGB', async () => {
    const rgba = join(dir, 'rgba.png');
    await sharp(Buffer.from([10, 20, 30, 0, 10, 20, 30, 255]), { raw: { width: 2, height: 1, channels: 4 } })
      .png()
      .toFile(rgba);
    expect([...(await decodeImageBytes(rgba, 1))]).toEqual([10, 20, 30]);
    const gray = join(dir, 'gray.png');
    await sharp(Buffer.from([90, 90, 90, 90]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toFile(gray);
    expect([...(await decodeImageBytes(gray, 2))]).toEqual(new Array(12).fill(90));
  });

  it('applies EXIF orientation before resizing and cropping', async () => {
    // Stored 16×8: left half red, right half blue; orientation 6 displays it turned 90° clockwise,
    // 8 wide and 16 tall with red on top. Crop to 8×8 keeps rows 4–11: top half red, bottom blue.
    const path = join(dir, 'rotated.jpg');
    const raw = Buffer.alloc(16 * 8 * 3);
    for (let y = 0; y < 8; y++)
      for (let x = 0; x < 16; x++) raw.set(x < 8 ? [255, 0, 0] : [0, 0, 255], (y * 16 + x) * 3);
    await sharp(raw, { raw: { width: 16, height: 8, channels: 3 } })
      .jpeg({ quality: 100, chromaSubsampling: '4:4:4' })
      .withMetadata({ orientation: 6 })
      .toFile(path);
    expect((await sharp(path).metadata()).orientation).toBe(6);
    const bytes = await decodeImageBytes(path, 8);
    const [r0, , b0] = px(bytes, 8, 4, 1);
    const [r1, , b1] = px(bytes, 8, 4, 6);
    expect(r0).toBeGreaterThan(200);
    expect(b0).toBeLessThan(50);
    expect(r1).toBeLessThan(50);
    expect(b1).toBeGreaterThan(200);
  });

  it('names a truncated JPEG or a non-image file in the error', async () => {
    const good = join(dir, 'good.jpg');
    await writeTestImage(good, 64, 64, (x, y) => [x * 4, y * 4, 0]);
    const full = await fs.readFile(good);
    const truncated = join(dir, 'truncated.jpg');
    await fs.writeFile(truncated, full.subarray(0, Math.floor(full.length / 2)));
    await expect(decodeImageBytes(truncated, 8)).rejects.toThrow(
      `${truncated}: cannot decode image: VipsJpeg: premature end of JPEG image`,
    );
    await expect(decodeImageBytes(truncated, 8)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      file: truncated,
    });
    const text = join(dir, 'text.png');
    await fs.writeFile(text, 'not an image');
    await expect(decodeImageBytes(text, 8)).rejects.toThrow(
      `${text}: cannot decode image: Input buffer contains unsupported image format`,
    );
    await expect(decodeImageBytes(join(dir, 'absent.png'), 8)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('loadImages stacks decoded images in input order', async () => {
    const a = join(dir, 'a.png');
    const b = join(dir, 'b.png');
    await writeTestImage(a, 4, 4, () => [255, 0, 0]);
    await writeTestImage(b, 4, 4, () => [0, 0, 255]);
    const before = tf.memory().numTensors;
    const t = await loadImages([{ id: 'b', label: 0, path: b }, a], 2);
    expect(t.shape).toEqual([2, 2, 2, 3]);
    const values = await t.data();
    expect([...values.subarray(0, 3)]).toEqual([-1, -1, 1]);
    expect([...values.subarray(12, 15)]).toEqual([1, -1, -1]);
    tf.dispose(t);
    expect(tf.memory().numTensors).toBe(before);
  });

  const pil =
    existsSync('/usr/bin/python3') && spawnSync('/usr/bin/python3', ['-c', 'import PIL, numpy']).status === 0;
  it.skipIf(!pil || !HAVE_ISIC_FULLRES)(
    `matches PIL's resize + center crop on real JPEGs ${HAVE_ISIC_FULLRES ? '' : NO_PHOTOGRAPHS}`,
    async () => {
      const script = [
        'import sys, numpy as np',
        'from PIL import Image',
        's = int(sys.argv[2]); im = Image.open(sys.argv[1]).convert("RGB"); w, h = im.size; k = s / min(w, h)',
        'im = im.resize((max(s, round(w * k)), max(s, round(h * k))), Image.BICUBIC); w, h = im.size',
        'l, t = (w - s) // 2, (h - s) // 2',
        'sys.stdout.buffer.write(np.asarray(im.crop((l, t, l + s, t + s)), dtype=np.uint8).tobytes())',
      ].join('\n');
      let total = 0;
      const ids = ['ISIC_0000001', 'ISIC_0000298', 'ISIC_0000480'];
      for (const id of ids) {
        const path = join(ISIC_FULLRES, 'images', `${id}.jpg`);
        const ref = spawnSync('/usr/bin/python3', ['-c', script, path, '96']).stdout as Buffer;
        const ours = await decodeImageBytes(path, 96);
        expect(ref.length).toBe(ours.length);
        let diff = 0;
        for (let i = 0; i < ours.length; i++) diff += Math.abs(ours[i]! - ref[i]!);
        total += diff / ours.length;
      }
      // Mean |Δ| in 0–255 units: ~0.4 here; libjpeg's fast DCT downscaling alone would give ~1.4.
      expect(total / ids.length).toBeLessThan(0.8);
    },
  );
});
