import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../dataset/load-dataset.js';
import { makeDataset, tempDir, writeTestImage } from '../test-utils/fixtures.js';
import { HAVE_ISIC_FULLRES, ISIC_FULLRES, NO_PHOTOGRAPHS } from '../test-utils/test-data.js';
import { prepareDataset } from './prepare.js';

describe('prepareDataset', () => {
  let dir: string;
  let src: string;
  beforeAll(async () => {
    dir = await tempDir();
    src = join(dir, 'src');
    await makeDataset(
      src,
      Array.from({ length: 6 }, (_, i) => ({ id: `img${i}`, className: i % 2 ? 'MEL' : 'NV' })),
      12,
    );
    // A wide JPEG, so the output is a real resize + crop, and a truncated one.
    await fs.rm(join(src, 'images', 'img0.png'));
    await writeTestImage(join(src, 'images', 'img0.jpg'), 40, 20, (x) => [x * 6, 0, 0]);
    const full = await fs.readFile(join(src, 'images', 'img0.jpg'));
    await fs.rm(join(src, 'images', 'img5.png'));
    await fs.writeFile(join(src, 'images', 'img5.jpg'), full.subarray(0, full.length >> 1));
  });

  it('writes size×size PNGs and labels, reporting and leaving out undecodable images', async () => {
    const out = join(dir, 'out');
    const seen: number[] = [];
    const r = await prepareDataset(src, out, {
      size: 8,
      concurrency: 2,
      onProgress: (p) => seen.push(p.done),
    });
    expect(r).toMatchObject({ total: 6, written: 5, reused: 0, failed: 1 });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.problems).toEqual([
      {
        file: join(src, 'images', 'img5.jpg'),
        id: 'img5',
        // libvips gathers error details in one process-wide buffer: with concurrent decodes the detail
        // after "corrupt header:" ("VipsJpeg: premature end of JPEG image") is sometimes gone.
        message: expect.stringMatching(
          /^cannot decode image: .*(premature end of JPEG image|corrupt header:) ?\(skipped\)$/,
        ),
      },
    ]);
    const ds = await loadDataset(out);
    expect(ds.samples.map((s) => [s.id, s.label])).toEqual([
      ['img0', 1],
      ['img1', 0],
      ['img2', 1],
      ['img3', 0],
      ['img4', 1],
    ]);
    expect(ds.problems).toEqual([]);
    const meta = await sharp(join(out, 'images', 'img0.png')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 8, 8]);
    expect(JSON.parse(await fs.readFile(join(out, 'dataset.json'), 'utf8'))).toMatchObject({
      size: 8,
      synthetic: false,
    });
    await expect(prepareDataset(src, join(dir, 'strict'), { size: 8, strict: true })).rejects.toThrow(
      `${join(src, 'images', 'img5.jpg')}: cannot decode image`,
    );
  });

  it('resumes: keeps finished images, redoes missing ones, clears temp files of a kill', async () => {
    const out = join(dir, 'resume');
    await prepareDataset(src, out, { size: 8 });
    const kept = await fs.stat(join(out, 'images', 'img1.png'));
    await fs.rm(join(out, 'images', 'img2.png'));
    await fs.writeFile(join(out, 'images', '.img3.png.tmp-999999999-0123abcd'), 'half an image');
    await new Promise((r) => setTimeout(r, 20));
    const r = await prepareDataset(src, out, { size: 8 });
    expect(r).toMatchObject({ written: 1, reused: 4, failed: 1 });
    expect((await fs.stat(join(out, 'images', 'img1.png'))).mtimeMs).toBe(kept.mtimeMs);
    expect((await fs.readdir(join(out, 'images'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('prepare --size 4 over a --size 8 folder: refused naming both settings; --force (rebuild) redoes every image', async () => {
    const out = join(dir, 'resize');
    await prepareDataset(src, out, { size: 8 });
    const before = await fs.readFile(join(out, 'images', 'img1.png'));
    await expect(prepareDataset(src, out, { size: 4 })).rejects.toThrow(
      `${out}: holds images prepared as 8×8 png, short side to size (bicubic), center crop; this run asks for 4×4 png`,
    );
    expect(await fs.readFile(join(out, 'images', 'img1.png'))).toEqual(before);
    const r = await prepareDataset(src, out, { size: 4, rebuild: true });
    expect(r).toMatchObject({ written: 5, reused: 0, failed: 1 });
    for (const name of await fs.readdir(join(out, 'images'))) {
      const m = await sharp(join(out, 'images', name)).metadata();
      expect([name, m.width, m.height]).toEqual([name, 4, 4]);
    }
    expect(JSON.parse(await fs.readFile(join(out, 'dataset.json'), 'utf8'))).toMatchObject({ size: 4 });
  });

  it('prepare --format jpg over a png folder (--force): one .jpg per id, no .png left', async () => {
    const out = join(dir, 'format');
    await prepareDataset(src, out, { size: 8 });
    await expect(prepareDataset(src, out, { size: 8, format: 'jpg' })).rejects.toThrow(
      'this run asks for 8×8 jpg',
    );
    const r = await prepareDataset(src, out, { size: 8, format: 'jpg', rebuild: true });
    expect(r).toMatchObject({ written: 5, reused: 0 });
    expect((await fs.readdir(join(out, 'images'))).sort()).toEqual(
      ['img0', 'img1', 'img2', 'img3', 'img4'].map((id) => `${id}.jpg`),
    );
    expect((await loadDataset(out)).problems).toEqual([]);
  });

  it('prepare without a settings record reuses only images of the requested size and format', async () => {
    const out = join(dir, 'legacy');
    await prepareDataset(src, out, { size: 8 });
    await fs.rm(join(out, 'dataset.json')); // as an older skingan or a killed run left it
    await sharp({ create: { width: 6, height: 6, channels: 3, background: '#000' } })
      .png()
      .toFile(join(out, 'images', 'img2.png'));
    await writeTestImage(join(out, 'images', 'img3.jpg'), 8, 8, () => [0, 0, 0]);
    const r = await prepareDataset(src, out, { size: 8 });
    expect(r).toMatchObject({ written: 1, reused: 4, failed: 1 });
    const m = await sharp(join(out, 'images', 'img2.png')).metadata();
    expect([m.width, m.height]).toEqual([8, 8]);
    expect((await fs.readdir(join(out, 'images'))).filter((n) => n.startsWith('img3'))).toEqual(['img3.png']);
  });

  it('refuses to write into its input folder', async () => {
    await expect(prepareDataset(src, src, { size: 8 })).rejects.toThrow(
      'the output folder is the input folder',
    );
  });

  it.skipIf(!HAVE_ISIC_FULLRES)(
    `isic-fullres → 64: 31 images, same labels ${HAVE_ISIC_FULLRES ? '' : NO_PHOTOGRAPHS}`,
    async () => {
      const out = join(dir, 'fullres');
      const r = await prepareDataset(ISIC_FULLRES, out, { size: 64 });
      expect(r).toMatchObject({ total: 31, written: 31, failed: 0 });
      const [a, b] = await Promise.all([loadDataset(ISIC_FULLRES), loadDataset(out)]);
      expect(b.samples.map((s) => [s.id, s.label])).toEqual(a.samples.map((s) => [s.id, s.label]));
    },
  );
});
