import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ISIC2019 } from '@skingan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { countPerClass, loadDataset } from '../dataset/load-dataset.js';
import { decodeImageBytes } from '../image/decode.js';
import { tempDir } from '../test-utils/fixtures.js';
import { generateDemoSet } from './demo-set.js';

/** A 4×4×4 colour histogram (square-rooted frequencies): what a tiny classifier could use. */
function histogram(bytes: Uint8Array): number[] {
  const h = new Array<number>(64).fill(0);
  const n = bytes.length / 3;
  for (let i = 0; i < n; i++)
    h[(bytes[3 * i]! >> 6) * 16 + (bytes[3 * i + 1]! >> 6) * 4 + (bytes[3 * i + 2]! >> 6)]!++;
  return h.map((v) => Math.sqrt(v / n));
}

describe('generateDemoSet', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('writes a labelled dataset folder marked as synthetic', async () => {
    const out = join(dir, 'demo');
    const r = await generateDemoSet(out, { perClass: 3, size: 32, seed: 1 });
    expect(r.total).toBe(24);
    const ds = await loadDataset(out);
    expect(countPerClass(ds)).toEqual(Object.fromEntries(ISIC2019.classes.map((c) => [c, 3])));
    expect(ds.problems).toEqual([]);
    expect(ds.roots[0]?.synthetic).toBe(true);
    expect(await fs.readFile(join(out, 'README.md'), 'utf8')).toMatch(
      /^# SYNTHETIC demo set — not real skin lesions/,
    );
    expect(JSON.parse(await fs.readFile(join(out, 'dataset.json'), 'utf8'))).toMatchObject({
      synthetic: true,
      seed: 1,
      size: 32,
    });
    const prov = (await fs.readFile(join(out, 'provenance.jsonl'), 'utf8')).trim().split('\n');
    expect(JSON.parse(prov[0]!)).toEqual({
      id: 'demo_MEL_0000',
      class: 'MEL',
      generator: 'skingan-demo-set',
      seed: 1,
      index: 0,
    });
  });

  it('is deterministic: the same options give byte-identical images; another seed differs', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const c = join(dir, 'c');
    await generateDemoSet(a, { perClass: 2, size: 32, seed: 5 });
    await generateDemoSet(b, { perClass: 2, size: 32, seed: 5 });
    await generateDemoSet(c, { perClass: 2, size: 32, seed: 6 });
    const file = join('images', 'demo_BCC_0001.png');
    expect((await fs.readFile(join(a, file))).equals(await fs.readFile(join(b, file)))).toBe(true);
    expect((await fs.readFile(join(a, file))).equals(await fs.readFile(join(c, file)))).toBe(false);
    expect(await fs.readFile(join(a, 'labels.csv'), 'utf8')).toBe(
      await fs.readFile(join(b, 'labels.csv'), 'utf8'),
    );
  });

  it('classes: only those, each image as in the full set; an unknown class is refused', async () => {
    const full = join(dir, 'full');
    const two = join(dir, 'two');
    await generateDemoSet(full, { perClass: 2, size: 32, seed: 4 });
    const r = await generateDemoSet(two, { perClass: 2, size: 32, seed: 4, classes: ['nv', 'MEL'] });
    expect(r).toMatchObject({ total: 4, perClass: { NV: 2, MEL: 2 } });
    const ds = await loadDataset(two);
    expect(ds.samples.map((s) => s.id)).toEqual([
      'demo_NV_0000',
      'demo_NV_0001',
      'demo_MEL_0000',
      'demo_MEL_0001',
    ]);
    for (const s of ds.samples) {
      const name = join('images', `${s.id}.png`);
      expect((await fs.readFile(join(two, name))).equals(await fs.readFile(join(full, name)))).toBe(true);
    }
    expect(JSON.parse(await fs.readFile(join(two, 'dataset.json'), 'utf8')).classes).toEqual(['NV', 'MEL']);
    await expect(generateDemoSet(join(dir, 'bad'), { classes: ['MEL', 'XYZ'] })).rejects.toThrow(
      'unknown class "XYZ"',
    );
    await expect(generateDemoSet(join(dir, 'bad'), { classes: ['MEL', 'mel'] })).rejects.toThrow(
      'demo classes must be distinct and at least one, got MEL,MEL',
    );
  });

  it('classes are learnable: 1-nearest-neighbour on colour histograms beats 75 % on held-out images', async () => {
    const out = join(dir, 'learn');
    await generateDemoSet(out, { perClass: 20, size: 48, seed: 3 });
    const ds = await loadDataset(out);
    const data = await Promise.all(
      ds.samples.map(async (s, i) => ({
        label: s.label,
        train: i % 2 === 0,
        f: histogram(await decodeImageBytes(s.path, 48)),
      })),
    );
    const train = data.filter((d) => d.train);
    const test = data.filter((d) => !d.train);
    const dist = (a: number[], b: number[]) => a.reduce((sum, v, k) => sum + (v - b[k]!) ** 2, 0);
    const correct = test.filter((d) => {
      const nearest = train.reduce((best, t) => (dist(t.f, d.f) < dist(best.f, d.f) ? t : best));
      return nearest.label === d.label;
    }).length;
    // Chance is 12.5 %; a convolutional classifier, which sees shapes too, does better still.
    expect(correct / test.length).toBeGreaterThan(0.75);
  });

  it('replaces an earlier demo set but refuses any other non-empty folder', async () => {
    const out = join(dir, 'again');
    await generateDemoSet(out, { perClass: 1, size: 16 });
    await generateDemoSet(out, { perClass: 2, size: 16 });
    expect((await fs.readdir(join(out, 'images'))).length).toBe(16);
    const other = join(dir, 'other');
    await fs.mkdir(other);
    await fs.writeFile(join(other, 'notes.txt'), 'mine');
    await expect(generateDemoSet(other, { perClass: 1 })).rejects.toThrow(
      `${other}: the folder is not empty and is not a demo set`,
    );
    expect(await fs.readFile(join(other, 'notes.txt'), 'utf8')).toBe('mine');
  });
});
