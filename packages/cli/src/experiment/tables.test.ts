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

  it('lists sets whose predictions are missing and leaves their rows out', async () => {
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
      ganMetricJobs: [],
      sampleJobs: [],
    };
    const { tables, incomplete } = await buildTables(
      plan,
      [data],
      (id) => (id === 'missing' ? undefined : join(dir, id)),
      dir,
      3,
    );
    expect(incomplete).toEqual(['cyclegan-4']);
    expect(tables.find((t) => t.name === 'table-6.2')!.table.rows.map((r) => r.label)).toEqual(['ISIC-0']);
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
