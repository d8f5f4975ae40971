import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';

const CLASSES = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC', 'UNK'];
const HAM_HEADER = 'lesion_id,image_id,dx,dx_type,age,sex,localization';

interface Photo {
  id: string;
  lesion: string;
  className: string;
}

/**
 * MEL: 12 lesions, NV: 20, BCC: 8, of 1–3 photographs each (lesion k has 1 + k mod 3), ids
 * interleaved so that neither the labels nor the metadata list a lesion's photographs together.
 */
function photos(): Photo[] {
  const out: Photo[] = [];
  for (const [className, lesions] of [
    ['MEL', 12],
    ['NV', 20],
    ['BCC', 8],
  ] as const) {
    for (let l = 0; l < lesions; l++) {
      for (let p = 0; p <= l % 3; p++) {
        out.push({
          id: `ISIC_${className}${p}${String(l).padStart(2, '0')}`,
          lesion: `HAM_${className}${l}`,
          className,
        });
      }
    }
  }
  return out;
}

/** A dataset folder (labels.csv + empty image files: a split reads no pixels) in the given row order. */
async function writeDataset(dir: string, rows: Photo[], metadata: Photo[] | null): Promise<void> {
  await fs.mkdir(join(dir, 'images'), { recursive: true });
  const label = (p: Photo) => [p.id, ...CLASSES.map((c) => (c === p.className ? '1.0' : '0.0'))].join(',');
  await fs.writeFile(join(dir, 'labels.csv'), `image,${CLASSES.join(',')}\n${rows.map(label).join('\n')}\n`);
  await Promise.all(rows.map((p) => fs.writeFile(join(dir, 'images', `${p.id}.jpg`), '')));
  if (metadata) {
    await fs.writeFile(
      join(dir, 'ham10000_metadata.csv'),
      `${HAM_HEADER}\n${metadata.map((p) => `${p.lesion},${p.id},x,histo,50.0,male,back`).join('\n')}\n`,
    );
  }
}

/** `skingan data split DIR --group-by lesion_id --seed N --out OUT …more`. */
const byLesion = (dir: string, seed: number, out: string, ...more: string[]) =>
  runCli(['data', 'split', dir, '--group-by', 'lesion_id', '--seed', String(seed), '--out', out, ...more]);

describe('skingan data split --group-by lesion_id', () => {
  let root: string;
  let dir: string;
  const all = photos();
  const lesionOf = new Map(all.map((p) => [p.id, p.lesion]));

  beforeAll(async () => {
    root = await fs.mkdtemp(join(tmpdir(), 'skingan-lesion-split-'));
    dir = join(root, 'ham');
    await writeDataset(dir, all, all);
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  it('finds ham10000_metadata.csv in DIR, says so, and keeps every lesion in one part', async () => {
    const out = join(root, 'split.json');
    const r = byLesion(dir, 1, out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout);
    expect(printed).toMatchObject({
      groupBy: 'lesion_id',
      metadata: [join(dir, 'ham10000_metadata.csv')],
      lesions: 40,
      withoutLesionRow: 0,
      problems: [],
    });
    const split = JSON.parse(await fs.readFile(out, 'utf8'));
    expect(split).toMatchObject({ seed: 1, groupBy: 'lesion_id', metadata: ['ham10000_metadata.csv'] });
    const parts = new Map<string, Set<string>>();
    for (const part of ['train', 'val', 'test'])
      for (const id of split.ids[part])
        parts.set(lesionOf.get(id)!, (parts.get(lesionOf.get(id)!) ?? new Set()).add(part));
    expect([...parts.values()].filter((s) => s.size > 1)).toEqual([]);
    expect(parts.size).toBe(40);
    expect(split.ids.test.length).toBeGreaterThan(0);

    const text = byLesion(dir, 1, out, '--force');
    expect(text.stdout).toContain(
      `by lesion: 40 lesions from ${join(dir, 'ham10000_metadata.csv')}, each in one part`,
    );
    const plain = runCli(['data', 'split', dir, '--seed', '1', '--out', join(root, 'by-image.json')]);
    expect(plain.stdout).toContain('by image (images of one lesion may land in different parts');
  });

  it('writes the same split.json for the rows and metadata listed in another order', async () => {
    const shuffled = join(root, 'shuffled');
    // Reversed labels, metadata by lesion name: an order unrelated to the first folder's.
    await writeDataset(
      shuffled,
      [...all].reverse(),
      [...all].sort((a, b) => (a.lesion < b.lesion ? 1 : -1)),
    );
    const a = join(root, 'a.json');
    const b = join(root, 'b.json');
    expect(byLesion(dir, 5, a).code).toBe(0);
    expect(byLesion(shuffled, 5, b).code).toBe(0);
    expect(await fs.readFile(b, 'utf8')).toBe(await fs.readFile(a, 'utf8'));
  });

  it('--metadata reads an ISIC 2019 file elsewhere: an empty lesion_id or no row is a lesion of its own (warned)', async () => {
    const bare = join(root, 'bare');
    await writeDataset(bare, all, null);
    const meta = join(root, 'ISIC_2019_Training_Metadata.csv');
    // The first photograph has no row, the second an empty lesion_id, 'ISIC_GONE' is not in the data.
    const listed = all.slice(1).map((p, i) => `${p.id},50,torso,${i === 0 ? '' : p.lesion},male`);
    await fs.writeFile(
      meta,
      `image,age_approx,anatom_site_general,lesion_id,sex\n${listed.join('\n')}\nISIC_GONE,1,x,IL_1,male\n`,
    );
    const out = join(root, 'isic.json');
    const r = byLesion(bare, 1, out, '--metadata', meta);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`by lesion: 41 lesions from ${meta}`);
    expect(r.stderr).toContain(
      `${meta}: 1 image has no lesion row (${all[0]!.id}): each is split as a lesion of its own`,
    );
    expect(JSON.parse(await fs.readFile(out, 'utf8')).metadata).toEqual(['ISIC_2019_Training_Metadata.csv']);
  });

  it('fails without metadata, naming what it looked for and where; bad metadata names its file and line; nothing is written', async () => {
    const bare = join(root, 'bare2');
    await writeDataset(bare, all.slice(0, 6), null);
    const out = join(root, 'none.json');
    const missing = byLesion(bare, 1, out);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(
      `--group-by lesion_id: no lesion metadata found: looked for ham10000_metadata.csv, HAM10000_metadata.csv, ISIC_2019_Training_Metadata.csv in ${bare}`,
    );
    expect(missing.stderr).toContain('hint: pass --metadata FILE');
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    const bad = join(root, 'bad.csv');
    await fs.writeFile(bad, 'image_id,dx\nISIC_1,nv\n');
    const r = byLesion(bare, 1, out, '--metadata', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:1: no lesion_id column (the header is "image_id,dx")`);

    const alone = runCli(['data', 'split', bare, '--metadata', bad, '--seed', '1', '--out', out]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--metadata is read only with --group-by lesion_id');

    const other = runCli(['data', 'split', bare, '--group-by', 'patient_id', '--seed', '1', '--out', out]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/patient_id.*lesion_id/);
    expect(existsSync(out)).toBe(false);
  });

  it('--folds 5 --fold i: every lesion in one part of each fold, every photograph tested once; the flags go together', async () => {
    const tested: string[] = [];
    for (let fold = 0; fold < 5; fold++) {
      const out = join(root, `fold-${fold}.json`);
      const r = byLesion(dir, 3, out, '--folds', '5', '--fold', String(fold));
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`(seed 3, fold ${fold} of 0 … 4)`);
      const split = JSON.parse(await fs.readFile(out, 'utf8'));
      expect(split).toMatchObject({
        fractions: { train: 0.7, val: 0.1, test: 0.2 },
        fold: { count: 5, index: fold },
      });
      const partOf = new Map<string, string>();
      for (const part of ['train', 'val', 'test'])
        for (const id of split.ids[part]) {
          const lesion = lesionOf.get(id)!;
          expect(partOf.get(lesion) ?? part).toBe(part);
          partOf.set(lesion, part);
        }
      tested.push(...split.ids.test);
    }
    expect(tested.sort()).toEqual(all.map((p) => p.id).sort());
    const alone = byLesion(dir, 3, join(root, 'x.json'), '--fold', '1');
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--folds and --fold go together');
    const clash = byLesion(
      dir,
      3,
      join(root, 'x.json'),
      '--folds',
      '5',
      '--fold',
      '1',
      '--fractions',
      '0.8,0.1,0.1',
    );
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain(
      'with 5 folds the test part is 1/5 of each class, but the test fraction is 0.1',
    );
    expect(clash.stderr).toContain('hint: use the fractions 0.7,0.1,0.2');
    expect(existsSync(join(root, 'x.json'))).toBe(false);
  });
});
