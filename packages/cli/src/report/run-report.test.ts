import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSections } from './run-report.js';

const evalRecord = (epoch: number, fid: number, mean: number, worst: number, extra = {}) => ({
  type: 'eval',
  step: (epoch + 1) * 10,
  epoch,
  fid,
  kid: fid / 1000,
  kidStd: 0.001,
  diversityMean: mean,
  diversityWorst: worst,
  diversityWorstClass: 'VASC',
  diversity: { MEL: mean, VASC: worst },
  extractor: 'test-random-conv (64-d, 32px)',
  generated: 16,
  real: 48,
  warnings: worst < 0.5 ? [`mode collapse: class VASC diversity ${worst.toFixed(2)}`] : [],
  ms: 12,
  ...extra,
});

describe('run report: quality evaluations', () => {
  it('plots FID and mean/worst diversity per evaluation (the last record of an epoch logged twice) and tabulates them', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-run-report-'));
    const records = [
      { type: 'step', step: 1, epoch: 0, d: 1, g: 2 },
      evalRecord(0, 90, 0.4, 0.2),
      evalRecord(1, 80, 0.6, 0.45), // a resume logs epoch 1 again: the later record counts
      evalRecord(1, 70, 0.7, 0.55, { fidelity: 0.5, fidelityReal: 0.8 }),
    ];
    await fs.writeFile(join(dir, 'metrics.jsonl'), `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const [section] = await runSections(dir, 'R');
    const charts = section!.charts!;
    expect(charts.map((c) => c.title)).toEqual([
      'R: losses',
      'R: FID per evaluation (test-random-conv (64-d, 32px))',
      'R: within-class diversity (generated ÷ real) and class fidelity',
    ]);
    expect(charts[1]!.series).toEqual([
      {
        name: 'FID',
        points: [
          [1, 90],
          [2, 70],
        ],
      },
    ]);
    expect(charts[2]!.series.map((s) => [s.name, s.points])).toEqual([
      [
        'diversity (mean)',
        [
          [1, 0.4],
          [2, 0.7],
        ],
      ],
      [
        'diversity (worst class)',
        [
          [1, 0.2],
          [2, 0.55],
        ],
      ],
      ['class fidelity', [[2, 0.5]]],
    ]);
    const table = section!.tables![0]!;
    expect(table.columns).toEqual([
      'epoch',
      'step',
      'FID',
      'KID',
      'diversity mean',
      'diversity worst',
      'fidelity',
      'fidelity (real sample)',
      'warnings',
    ]);
    expect(table.rows).toEqual([
      [1, 10, 90, 0.09, 0.4, 'VASC 0.20', null, null, 'mode collapse: class VASC diversity 0.20'],
      [2, 20, 70, 0.07, 0.7, 'VASC 0.55', 0.5, 0.8, ''],
    ]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('a run without evaluations has only its loss chart and no quality table', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-run-report-'));
    await fs.writeFile(
      join(dir, 'metrics.jsonl'),
      `${JSON.stringify({ type: 'step', step: 1, epoch: 0, d: 1 })}\n`,
    );
    const [section] = await runSections(dir, 'R');
    expect(section!.charts!.map((c) => c.title)).toEqual(['R: losses']);
    expect(section!.tables).toBeUndefined();
    await fs.rm(dir, { recursive: true, force: true });
  });
});
