import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { generateDemoSet } from '@skingan/data';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStudy } from './create.js';
import { IMAGES_DIR, StudyStore } from './store/store.js';
import { makeStudy } from './test-utils/study.js';

describe('createStudy', () => {
  let t: Awaited<ReturnType<typeof makeStudy>>;
  beforeAll(async () => {
    t = await makeStudy(5);
  });
  afterAll(async () => {
    await fs.rm(t.root, { recursive: true, force: true });
  });

  it('draws a class-stratified, equal mix and writes the key into the database', () => {
    const store = StudyStore.open(t.study);
    try {
      const images = store.images();
      expect(images).toHaveLength(20);
      const count = (cls: string, src: string) =>
        images.filter((i) => i.className === cls && i.source === src).length;
      expect([
        count('MEL', 'real'),
        count('MEL', 'synthetic'),
        count('NV', 'real'),
        count('NV', 'synthetic'),
      ]).toEqual([5, 5, 5, 5]);
      expect(images.filter((i) => i.source === 'synthetic').every((i) => i.generator === 'acgan')).toBe(true);
      expect(images.filter((i) => i.source === 'real').every((i) => i.generator === null)).toBe(true);
      // The key points back to the drawn files.
      expect(images.every((i) => i.origin.startsWith(i.source === 'real' ? t.real : t.synthetic))).toBe(true);
      expect(store.info()).toMatchObject({ name: 'study', seed: 7, imageSize: 32 });
    } finally {
      store.close();
    }
  });

  it('blinds the files: opaque names, one size and format, no metadata', async () => {
    const files = (await fs.readdir(join(t.study, IMAGES_DIR))).sort();
    expect(files).toHaveLength(20);
    for (const f of files) {
      expect(f).toMatch(/^[0-9a-f]{32}\.png$/);
      const m = await sharp(join(t.study, IMAGES_DIR, f)).metadata();
      // 48 px synthetic images are brought to the 32 px of the real ones; nothing but pixels.
      expect([m.format, m.width, m.height, m.channels]).toEqual(['png', 32, 32, 3]);
      expect([m.exif, m.icc, m.xmp, m.iptc, m.comments]).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
    }
    // Only the images and the database: no list, log or manifest that could be read to unblind.
    expect((await fs.readdir(t.study)).sort()).toEqual(['images', 'study.sqlite']);
  });

  it('draws the same images again from the same seed', async () => {
    const again = join(t.root, 'again');
    await createStudy({
      real: t.real,
      synthetic: [{ name: 'acgan', dir: t.synthetic }],
      perClass: 5,
      out: again,
      classes: ['MEL', 'NV'],
      seed: 7,
    });
    const origins = (dir: string) => {
      const s = StudyStore.open(dir);
      try {
        return s
          .images()
          .map((i) => i.origin)
          .sort();
      } finally {
        s.close();
      }
    };
    expect(origins(again)).toEqual(origins(t.study));
  });

  it('refuses a non-empty --out and leaves it unchanged', async () => {
    const before = (await fs.readdir(t.study)).sort();
    await expect(
      createStudy({ real: t.real, synthetic: [{ name: 'g', dir: t.synthetic }], perClass: 1, out: t.study }),
    ).rejects.toThrow(`${t.study}: the study folder exists and is not empty`);
    expect((await fs.readdir(t.study)).sort()).toEqual(before);
  });

  it('names the class and source that are short of images, and writes nothing', async () => {
    const out = join(t.root, 'short');
    await expect(
      createStudy({
        real: t.real,
        synthetic: [{ name: 'acgan', dir: t.synthetic }],
        perClass: 7,
        out,
        classes: ['MEL'],
      }),
    ).rejects.toThrow(/not enough images to draw 7 per class and source:\n {2}MEL: .*real has 6, 7 needed/);
    await expect(fs.access(out)).rejects.toThrow();
  });

  it('refuses an unknown class by name, listing the classes', async () => {
    await expect(
      createStudy({
        real: t.real,
        synthetic: [{ name: 'g', dir: t.synthetic }],
        perClass: 1,
        out: join(t.root, 'x'),
        classes: ['MELANOMA'],
      }),
    ).rejects.toThrow('unknown class "MELANOMA"');
  });

  it('splits the synthetic share across generators', async () => {
    const other = join(t.root, 'other');
    await generateDemoSet(other, { perClass: 3, size: 32, seed: 2 });
    const out = join(t.root, 'two-gens');
    const r = await createStudy({
      real: t.real,
      synthetic: [
        { name: 'acgan', dir: t.synthetic },
        { name: 'cyclegan', dir: other },
      ],
      perClass: 3,
      out,
      classes: ['BCC'],
    });
    const s = r.perClass.BCC!;
    expect(s.real).toBe(3);
    expect(Object.values(s.synthetic).sort()).toEqual([1, 2]);
    expect(r.images).toBe(6);
  });
});
