import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLabelsCsv } from '../csv/labels-csv.js';
import { loadDataset } from '../dataset/load-dataset.js';
import { subsetDataset } from './subset-dataset.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-subset-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A folder dataset of tiny files (subset never decodes images). */
async function folder(name: string, rows: [string, string][], provenance = false): Promise<string> {
  const root = join(dir, name);
  await fs.mkdir(join(root, 'images'), { recursive: true });
  const header = 'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK';
  const classes = header.split(',').slice(1);
  const lines = rows.map(([id, c]) => [id, ...classes.map((k) => (k === c ? '1.0' : '0.0'))].join(','));
  await fs.writeFile(join(root, 'labels.csv'), `${[header, ...lines].join('\n')}\n`);
  for (const [id] of rows) await fs.writeFile(join(root, 'images', `${id}.png`), id);
  if (provenance) {
    await fs.writeFile(
      join(root, 'provenance.jsonl'),
      rows.map(([id], i) => `${JSON.stringify({ id, seed: i })}\n`).join(''),
    );
  }
  return root;
}

describe('subsetDataset', () => {
  it('keeps the first n per class in source order, as links, with provenance', async () => {
    const src = await folder(
      'src',
      [
        ['a1', 'MEL'],
        ['b1', 'NV'],
        ['a2', 'MEL'],
        ['a3', 'MEL'],
        ['b2', 'NV'],
      ],
      true,
    );
    const r = await subsetDataset([src], join(dir, 'out'), { perClass: 2 });
    expect(r).toMatchObject({ total: 4, perClass: { MEL: 2, NV: 2 } });
    const csv = await readLabelsCsv(join(dir, 'out', 'labels.csv'));
    expect(csv.rows.map((x) => x.id)).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect((await fs.lstat(join(dir, 'out', 'images', 'a2.png'))).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(join(dir, 'out', 'images', 'a2.png'), 'utf8')).toBe('a2');
    const prov = (await fs.readFile(join(dir, 'out', 'provenance.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(prov[2]).toMatchObject({ id: 'a2', class: 'MEL', seed: 2, subsetOf: src });
    // Nested: the n = 1 subset is a prefix of the n = 2 one.
    const small = await subsetDataset([src], join(dir, 'small'), { perClass: 1 });
    expect(small.perClass).toEqual({ MEL: 1, NV: 1 });
    expect((await loadDataset(join(dir, 'small'))).samples.map((s) => s.id)).toEqual(['a1', 'b1']);
  });

  it('with a seed, draws n per class at random: nested, in source order, the same for the same seed', async () => {
    const rows: [string, string][] = Array.from({ length: 40 }, (_, i) => [`m${i}`, 'MEL']);
    rows.push(['n0', 'NV'], ['n1', 'NV']);
    const src = await folder('src', rows);
    const ids = async (out: string, perClass: number, seed: number) => {
      const r = await subsetDataset([src], join(dir, out), { perClass, seed });
      return { r, ids: (await readLabelsCsv(join(dir, out, 'labels.csv'))).rows.map((x) => x.id) };
    };
    const a = await ids('a', 5, 3);
    expect(a.r.perClass).toEqual({ MEL: 5, NV: 2 });
    const mel = a.ids.filter((id) => id.startsWith('m'));
    // Not the first five (a chance of 1 in C(40, 5) = 658,008), kept in source order.
    expect(mel).not.toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(mel).toEqual([...mel].sort((x, y) => Number(x.slice(1)) - Number(y.slice(1))));
    expect((await ids('again', 5, 3)).ids).toEqual(a.ids);
    const larger = await ids('larger', 12, 3);
    expect(mel.every((id) => larger.ids.includes(id))).toBe(true);
    expect((await ids('other', 5, 4)).ids).not.toEqual(a.ids);
    await expect(subsetDataset([src], join(dir, 'x'), { seed: 3 })).rejects.toThrow(/needs perClass/);
  });

  it('selects a split part and classes across several folders', async () => {
    const a = await folder('a', [
      ['x1', 'MEL'],
      ['x2', 'NV'],
    ]);
    const b = await folder('b', [
      ['y1', 'MEL'],
      ['y2', 'BCC'],
    ]);
    const split = join(dir, 'split.json');
    await fs.writeFile(
      split,
      JSON.stringify({
        seed: 1,
        fractions: { train: 0.5, val: 0, test: 0.5 },
        ids: { train: ['x1', 'y2'], val: [], test: ['x2', 'y1'] },
      }),
    );
    const r = await subsetDataset([a, b], join(dir, 'out'), { split, part: 'train', copy: true });
    expect(r.perClass).toEqual({ MEL: 1, BCC: 1 });
    expect((await fs.lstat(join(dir, 'out', 'images', 'y2.png'))).isSymbolicLink()).toBe(false);
    const mel = await subsetDataset([a, b], join(dir, 'mel'), { classes: ['MEL'] });
    expect(mel.perClass).toEqual({ MEL: 2 });
  });

  it('refuses to overwrite a folder that is not an earlier subset, and duplicate ids', async () => {
    const src = await folder('src', [['a1', 'MEL']]);
    await expect(subsetDataset([src], src, {})).rejects.toThrow(/exists and is not an earlier subset/);
    await subsetDataset([src], join(dir, 'out'), {});
    await expect(subsetDataset([src], join(dir, 'out'), {})).resolves.toMatchObject({ total: 1 });
    const dup = await folder('dup', [['a1', 'NV']]);
    await expect(subsetDataset([src, dup], join(dir, 'x'), {})).rejects.toThrow(/a1/);
  });
});
