import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExperimentPlan, TrainingSet } from './pipelines/common.js';
import { buildTables } from './tables.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-tables-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const CLASSES = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC'];

async function dataset(rows: [string, string][]): Promise<string> {
  const root = join(dir, 'data');
  await fs.mkdir(join(root, 'images'), { recursive: true });
  const lines = rows.map(([id, c]) =>
    [id, ...CLASSES.map((k) => (k === c ? '1.0' : '0.0')), '0.0'].join(','),
  );
  await fs.writeFile(join(root, 'labels.csv'), `image,${CLASSES.join(',')},UNK\n${lines.join('\n')}\n`);
  for (const [id] of rows) await fs.writeFile(join(root, 'images', `${id}.png`), '');
  return root;
}

/** A predictions CSV with probability 0.9 on the predicted class. */
async function predictions(job: string, preds: [string, string][]): Promise<void> {
  await fs.mkdir(join(dir, job), { recursive: true });
  const rows = preds.map(([id, c]) =>
    [id, ...CLASSES.map((k) => (k === c ? '0.9' : (0.1 / 7).toFixed(6)))].join(','),
  );
  await fs.writeFile(join(dir, job, 'predictions.csv'), `image,${CLASSES.join(',')}\n${rows.join('\n')}\n`);
}

describe('buildTables', () => {
  it('computes Table 6.2 and the paired test against ISIC-0 from predictions, and writes md/csv/json', async () => {
    const data = await dataset([
      ['t1', 'MEL'],
      ['t2', 'MEL'],
      ['t3', 'NV'],
      ['t4', 'NV'],
    ]);
    const base: TrainingSet = { label: 'ISIC-0', slug: 'isic-0', addJobs: [], coords: {} };
    const acgan: TrainingSet = { label: 'acgan-4', slug: 'acgan-4', addJobs: ['acgan-4'], coords: {} };
    await predictions('p0', [
      ['t1', 'MEL'],
      ['t2', 'NV'],
      ['t3', 'NV'],
      ['t4', 'NV'],
    ]);
    await predictions('p1', [
      ['t1', 'MEL'],
      ['t2', 'MEL'],
      ['t3', 'NV'],
      ['t4', 'MEL'],
    ]);
    const plan: ExperimentPlan = {
      kind: 'noise2img',
      jobs: [],
      // Copies, as read back from experiment.json: matching must not rely on object identity.
      sets: [{ ...base }, { ...acgan }],
      cells: [
        { set: base, seed: 1, trainJob: 't0', predictJob: 'p0' },
        { set: acgan, seed: 1, trainJob: 't1', predictJob: 'p1' },
      ],
      ganMetricJobs: [],
      sampleJobs: [],
    };
    const { tables, incomplete } = await buildTables(plan, [data], (id) => join(dir, id), dir, 3);
    expect(incomplete).toEqual([]);
    const t62 = tables.find((t) => t.name === 'table-6.2')!.table;
    expect(t62.rows.map((r) => r.label)).toEqual(['ISIC-0', 'acgan-4']);
    // ISIC-0: MEL recall 1/2, NV precision 2/3; acgan-4: MEL precision 2/3, NV recall 1/2; both 3/4 accurate.
    expect(t62.rows[0]!.cells['MEL.recall']!.value).toBeCloseTo(0.5);
    expect(t62.rows[0]!.cells['NV.precision']!.value).toBeCloseTo(2 / 3);
    expect(t62.rows[1]!.cells['MEL.precision']!.value).toBeCloseTo(2 / 3);
    expect(t62.rows.map((r) => r.cells.accuracy!.value)).toEqual([0.75, 0.75]);
    expect(t62.rows[0]!.cells.accuracy!.lower).toBeLessThanOrEqual(0.75);
    const paired = tables.find((t) => t.name === 'paired-vs-isic-0')!.table;
    // One discordant image each way (t2, t4): McNemar's exact p = 1.
    expect(paired.rows[0]!.cells.mcnemarP!.value).toBeCloseTo(1);
    expect(paired.rows[0]!.cells.dAcc!.value).toBeCloseTo(0);
    for (const ext of ['md', 'csv', 'json'])
      expect((await fs.stat(join(dir, 'tables', `table-6.2.${ext}`))).size).toBeGreaterThan(0);
    expect(await fs.readFile(join(dir, 'tables', 'table-6.2.md'), 'utf8')).toContain('| ISIC-0 |');
  });

  it('lists sets whose predictions are missing and leaves their rows out, and GAN metrics not yet computed', async () => {
    const data = await dataset([
      ['t1', 'MEL'],
      ['t2', 'NV'],
    ]);
    const base: TrainingSet = { label: 'ISIC-0', slug: 'isic-0', addJobs: [], coords: {} };
    const other: TrainingSet = { label: 'cyclegan-4', slug: 'cyclegan-4', addJobs: ['x'], coords: {} };
    await predictions('p0', [
      ['t1', 'MEL'],
      ['t2', 'NV'],
    ]);
    const plan: ExperimentPlan = {
      kind: 'noise2img',
      jobs: [],
      sets: [base, other],
      cells: [
        { set: base, seed: 1, trainJob: 't0', predictJob: 'p0' },
        { set: other, seed: 1, trainJob: 't1', predictJob: 'missing' },
      ],
      // The FID finished, the KID job was stopped: its cells are empty, and named as missing.
      ganMetricJobs: [
        { kind: 'cyclegan', metric: 'fid', job: 'fid' },
        { kind: 'cyclegan', metric: 'kid', job: 'missing' },
      ],
      sampleJobs: [],
    };
    await fs.mkdir(join(dir, 'fid'), { recursive: true });
    await fs.writeFile(join(dir, 'fid', 'fid.json'), JSON.stringify({ fid: 12.5, extractor: 'test' }));
    const { tables, incomplete } = await buildTables(
      plan,
      [data],
      (id) => (id === 'missing' ? undefined : join(dir, id)),
      dir,
      3,
    );
    expect(incomplete).toEqual(['cyclegan-4', 'gan-metrics cyclegan KID']);
    expect(tables.find((t) => t.name === 'table-6.2')!.table.rows.map((r) => r.label)).toEqual(['ISIC-0']);
    const gan = tables.find((t) => t.name === 'gan-metrics')!.table;
    expect(gan.rows[0]!.cells).toEqual({ 'cyclegan.fid': { value: 12.5 }, 'cyclegan.kid': null });

    // Written again without the FID (its job's folder gone): no GAN-metrics table, and none left
    // from the first write; the other tables are rewritten.
    const again = await buildTables(plan, [data], (id) => (id === 'p0' ? join(dir, id) : undefined), dir, 3);
    expect(again.tables.map((t) => t.name)).toEqual(['table-6.2']);
    const files = (await fs.readdir(join(dir, 'tables'))).sort();
    expect(files.filter((f) => f.startsWith('gan-metrics'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('table-6.2'))).toEqual([
      'table-6.2.csv',
      'table-6.2.json',
      'table-6.2.md',
    ]);
  });

  it('names the real-data baselines: their rows, a comparison of the synthetic rows with augmentation, and (nv2mel) their own table', async () => {
    const data = await dataset([
      ['t1', 'MEL'],
      ['t2', 'MEL'],
      ['t3', 'NV'],
      ['t4', 'NV'],
    ]);
    const preds: Record<string, [string, string][]> = {
      p0: [
        ['t1', 'MEL'],
        ['t2', 'NV'],
        ['t3', 'NV'],
        ['t4', 'NV'],
      ],
      pa: [
        ['t1', 'MEL'],
        ['t2', 'MEL'],
        ['t3', 'NV'],
        ['t4', 'NV'],
      ],
      pg: [
        ['t1', 'NV'],
        ['t2', 'NV'],
        ['t3', 'NV'],
        ['t4', 'NV'],
      ],
    };
    for (const [job, p] of Object.entries(preds)) await predictions(job, p);
    const sets = (kind: 'noise2img' | 'nv2mel'): TrainingSet[] => [
      { label: 'ISIC-0', slug: 'isic-0', addJobs: [], coords: { alpha: 0, n: 0 } },
      kind === 'noise2img'
        ? { label: 'real + augmentation', slug: 'real-augment', addJobs: [], coords: {}, baseline: 'augment' }
        : {
            label: 'real + oversampling',
            slug: 'real-oversample',
            addJobs: [],
            coords: { alpha: 0, n: 0 },
            baseline: 'oversample',
          },
      { label: 'acgan-4', slug: 'acgan-4', addJobs: ['acgan-4'], coords: { alpha: 1, n: 8 } },
    ];
    const plan = (kind: 'noise2img' | 'nv2mel'): ExperimentPlan => {
      const s = sets(kind);
      return {
        kind,
        jobs: [],
        sets: s,
        cells: s.map((set, i) => ({ set, seed: 1, trainJob: `t${i}`, predictJob: ['p0', 'pa', 'pg'][i]! })),
        ganMetricJobs: [],
        sampleJobs: [],
      };
    };
    const noise = await buildTables(plan('noise2img'), [data], (id) => join(dir, id), dir, 3);
    const table = (r: typeof noise, name: string) => r.tables.find((t) => t.name === name)?.table;
    const labels = (r: typeof noise, name: string) => table(r, name)!.rows.map((row) => row.label);
    expect(labels(noise, 'table-6.2')).toEqual(['ISIC-0', 'real + augmentation', 'acgan-4']);
    expect(labels(noise, 'paired-vs-isic-0')).toEqual(['real + augmentation', 'acgan-4']);
    const vsAug = table(noise, 'paired-vs-augment')!;
    expect(vsAug.title).toBe('Paired comparison with real + augmentation (same test images, same seed)');
    // acgan-4 is right on t3, t4 only, real + augmentation on all four: Δ accuracy −0.5.
    expect(vsAug.rows.map((r) => [r.label, r.cells.dAcc!.value])).toEqual([['acgan-4', -0.5]]);
    expect(await fs.readFile(join(dir, 'tables', 'paired-vs-augment.md'), 'utf8')).toContain('| acgan-4 |');

    const nv = await buildTables(plan('nv2mel'), [data], (id) => join(dir, id), dir, 3);
    // Table 7.2 holds ISIC-0 and the α rows only; the baselines get a per-class table of their own.
    expect(table(nv, 'table-7.2')!.columns.map((c) => c.group)).toEqual(Array(4).fill('α=1'));
    expect(labels(nv, 'baselines')).toEqual(['ISIC-0', 'real + oversampling']);
    expect(table(nv, 'baselines')!.title).toBe('Real-data baselines (no synthetic images)');
    expect(table(nv, 'paired-vs-augment')).toBeUndefined();
  });
});

describe('buildTables with folds', () => {
  // Fold 0 tests t1 (MEL) and t2–t4 (NV); fold 1 tests t5–t7 (MEL) and t8 (NV): unequal class
  // counts per fold, so recall pooled over the folds differs from the mean of per-fold recalls.
  const TRUTH: Record<string, string> = {
    t1: 'MEL',
    t2: 'NV',
    t3: 'NV',
    t4: 'NV',
    t5: 'MEL',
    t6: 'MEL',
    t7: 'MEL',
    t8: 'NV',
  };
  const FOLD_IDS = [
    ['t1', 't2', 't3', 't4'],
    ['t5', 't6', 't7', 't8'],
  ];
  /** A run's predictions on its fold's test part: right except for `wrong` (binary: the other class). */
  const run = (fold: number, wrong: string[]): [string, string][] =>
    FOLD_IDS[fold]!.map((id) => [id, wrong.includes(id) ? (TRUTH[id] === 'MEL' ? 'NV' : 'MEL') : TRUTH[id]!]);

  it('pools a row over folds × seeds (t-interval), per-class recall over the folds, and pairs runs by (fold, seed)', async () => {
    const data = await dataset(Object.entries(TRUTH) as [string, string][]);
    const base: TrainingSet = { label: 'ISIC-0', slug: 'isic-0', addJobs: [], coords: {} };
    const acgan: TrainingSet = { label: 'acgan-4', slug: 'acgan-4', addJobs: ['acgan-4'], coords: {} };
    // (set, fold, seed) → the images it gets wrong.
    const layout: [TrainingSet, number, number, string[]][] = [
      [base, 0, 1, ['t1']], // bal. acc (0 + 1)/2 = 0.5, acc 3/4
      [base, 0, 2, []], // 1, 1
      [base, 1, 1, []], // 1, 1
      [base, 1, 2, ['t5', 't6']], // (1/3 + 1)/2 = 2/3, acc 1/2
      [acgan, 0, 1, []], // 1, 1
      [acgan, 0, 2, ['t2']], // (1 + 2/3)/2 = 5/6, acc 3/4
      [acgan, 1, 1, []], // 1, 1
      [acgan, 1, 2, ['t5']], // (2/3 + 1)/2 = 5/6, acc 3/4
    ];
    const cells = [];
    for (const [set, fold, seed, wrong] of layout) {
      const job = `fold-${fold}/head/${set.slug}/seed-${seed}`;
      await predictions(job, run(fold, wrong));
      cells.push({ set: { ...set }, seed, fold, trainJob: job, predictJob: job });
    }
    // Listed in another order than the pairs: pairing must go by (fold, seed), not by position.
    cells.reverse();
    const plan: ExperimentPlan = {
      kind: 'noise2img',
      jobs: [],
      sets: [{ ...base }, { ...acgan }],
      cells,
      ganMetricJobs: [],
      sampleJobs: [],
    };
    const { tables, incomplete } = await buildTables(plan, [data], (id) => join(dir, id), dir, 3);
    expect(incomplete).toEqual([]);
    const t62 = tables.find((t) => t.name === 'table-6.2')!.table;
    const row = (label: string) => t62.rows.find((r) => r.label === label)!.cells;
    // ISIC-0's balanced accuracy over its 4 runs: [1/2, 1, 1, 2/3], mean 19/24, sd 1/4,
    // 95% t-interval 19/24 ± t(0.975, 3) · (1/4)/√4 = 0.79167 ± 0.39781, clipped to [0, 1].
    expect(row('ISIC-0').balancedAccuracy!.value).toBeCloseTo(19 / 24, 10);
    expect(row('ISIC-0').balancedAccuracy!.lower).toBeCloseTo(0.3938609, 6);
    expect(row('ISIC-0').balancedAccuracy!.upper).toBe(1);
    // acgan-4: [1, 5/6, 1, 5/6], mean 11/12, sd 0.0962250, interval [0.7635511, 1.0697822 → 1].
    expect(row('acgan-4').balancedAccuracy!.value).toBeCloseTo(11 / 12, 10);
    expect(row('acgan-4').balancedAccuracy!.lower).toBeCloseTo(0.7635511, 6);
    // Accuracy: ISIC-0 [3/4, 1, 1, 1/2] → 0.8125 [0.4316300, 1].
    expect(row('ISIC-0').accuracy!.value).toBeCloseTo(0.8125, 10);
    expect(row('ISIC-0').accuracy!.lower).toBeCloseTo(0.43163, 5);
    // MEL recall pooled over the folds per seed: seed 1 misses t1 of t1, t5–t7 → 3/4; seed 2 misses
    // t5, t6 → 1/2; mean 5/8 (the mean of per-fold recalls would be (0 + 1 + 1 + 1/3)/4 = 7/12).
    expect(row('ISIC-0')['MEL.recall']!.value).toBeCloseTo(5 / 8, 10);
    // Two seeds: t(0.975, 1) = 12.706 makes the interval reach past [0, 1], clipped.
    expect([row('ISIC-0')['MEL.recall']!.lower, row('ISIC-0')['MEL.recall']!.upper]).toEqual([0, 1]);
    expect(row('acgan-4')['NV.recall']!.value).toBeCloseTo(7 / 8, 10); // seed 2 misses t2 of 4 NV
    expect(t62.notes.join(' ')).toContain('means over 4 runs (2 folds × 2 seeds)');

    const paired = tables.find((t) => t.name === 'paired-vs-isic-0')!.table;
    expect(paired.title).toBe('Paired comparison with ISIC-0 (same test images, same fold and seed)');
    const p = paired.rows[0]!.cells;
    // Δ bal. acc by (fold, seed): (0,1) 1/2, (0,2) −1/6, (1,1) 0, (1,2) 1/6: mean 1/8, sd 0.2846,
    // 95% t-interval [−0.3279218, 0.5779218], paired t = 0.8783 on 3 df, p = 0.4444.
    expect(p.dBal!.value).toBeCloseTo(1 / 8, 10);
    expect(p.dBal!.lower).toBeCloseTo(-0.3279218, 6);
    expect(p.dBal!.upper).toBeCloseTo(0.5779218, 6);
    expect(p.tP!.value).toBeCloseTo(0.4444381, 5);
    // Δ accuracy: [1/4, −1/4, 0, 1/4]: mean 1/16 [−0.3183700, 0.4433700].
    expect(p.dAcc!.value).toBeCloseTo(1 / 16, 10);
    expect(p.dAcc!.lower).toBeCloseTo(-0.31837, 5);
    expect([p.better!.value, p.runs!.value]).toEqual([2, 4]);
    // McNemar on seed 1 over both folds: ISIC-0 alone misses t1, one discordant image: p = 1.
    expect(p.mcnemarP!.value).toBe(1);
    expect(paired.notes[0]).toBe(
      'Δ: the set minus ISIC-0, the mean over runs paired by fold and seed (runs: 2 folds × 2 seeds).',
    );
  });

  it('averages FID/KID over the folds, each against its own test part', async () => {
    const data = await dataset(Object.entries(TRUTH) as [string, string][]);
    for (const [fold, fid] of [
      [0, 30],
      [1, 50],
    ] as const) {
      await fs.mkdir(join(dir, `fold-${fold}/fid/acgan`), { recursive: true });
      await fs.writeFile(
        join(dir, `fold-${fold}/fid/acgan/fid.json`),
        JSON.stringify({ fid, extractor: 'test', perClass: [{ class: 'MEL', fid: fid + 10 }] }),
      );
    }
    const plan: ExperimentPlan = {
      kind: 'noise2img',
      jobs: [],
      sets: [],
      cells: [],
      ganMetricJobs: [0, 1].map((fold) => ({
        kind: 'acgan',
        metric: 'fid' as const,
        job: `fold-${fold}/fid/acgan`,
        fold,
      })),
      sampleJobs: [],
    };
    const { tables } = await buildTables(plan, [data], (id) => join(dir, id), dir, 3);
    const gan = tables.find((t) => t.name === 'gan-metrics')!.table;
    expect(gan.rows.map((r) => [r.label, r.cells['acgan.fid']!.value])).toEqual([
      ['all', 40],
      ['MEL', 50],
    ]);
    expect(gan.notes).toContain(
      "Means over the 2 folds: each fold's generators against that fold's test images (the only images they never saw).",
    );
  });
});
