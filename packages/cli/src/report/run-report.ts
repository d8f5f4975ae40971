import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { describeRunStatus, type RunJson } from '@skingan/core';
import { readJsonIfAny } from '../read-json.js';
import type { LineChart, Report, Section, Table } from './model.js';

type MetricRecord = Record<string, unknown> & { type?: string; step?: number };

export async function readMetricsJsonl(path: string): Promise<MetricRecord[]> {
  const text = await fs.readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as MetricRecord);
}

/** Loss curves: every numeric key of the step records (bar bookkeeping keys), one chart per run. */
export function lossChart(title: string, records: MetricRecord[], maxPoints = 400): LineChart | undefined {
  const steps = records.filter((r) => r.type === 'step' && typeof r.step === 'number');
  if (!steps.length) return undefined;
  const skip = new Set(['type', 'step', 'epoch', 'ms']);
  const keys = [...new Set(steps.flatMap((r) => Object.keys(r)))].filter(
    // Loss terms only: accuracies and learning rates have their own scales.
    (k) => !skip.has(k) && !/acc|lr|rate|mom|beta/i.test(k) && steps.some((r) => typeof r[k] === 'number'),
  );
  if (!keys.length) return undefined;
  const stride = Math.max(1, Math.ceil(steps.length / maxPoints));
  const sampled = steps.filter((_, i) => i % stride === 0 || i === steps.length - 1);
  return {
    title,
    xLabel: 'step',
    yLabel: 'loss',
    series: keys.map((k) => ({
      name: k,
      points: sampled
        .filter((r) => typeof r[k] === 'number')
        .map((r) => [r.step!, r[k] as number] as [number, number]),
    })),
  };
}

/**
 * The quality evaluations of a GAN run (`type: "eval"` records): FID per evaluation, and the mean
 * and worst within-class diversity (with class fidelity when measured) on their own 0–1-ish scale.
 */
function qualityCharts(title: string, records: MetricRecord[]): LineChart[] {
  const evals = evalRecords(records);
  if (!evals.length) return [];
  const series = (name: string, key: string) => ({
    name,
    points: evals
      .filter((r) => typeof r[key] === 'number' && Number.isFinite(r[key]))
      .map((r) => [(r.epoch as number) + 1, r[key] as number] as [number, number]),
  });
  const extractor = typeof evals[0]!.extractor === 'string' ? ` (${evals[0]!.extractor})` : '';
  const charts: LineChart[] = [
    {
      title: `${title}: FID per evaluation${extractor}`,
      xLabel: 'epoch',
      yLabel: 'FID',
      series: [series('FID', 'fid')],
    },
  ];
  const lower = [
    series('diversity (mean)', 'diversityMean'),
    series('diversity (worst class)', 'diversityWorst'),
  ];
  if (evals.some((r) => typeof r.fidelity === 'number')) lower.push(series('class fidelity', 'fidelity'));
  charts.push({
    title: `${title}: within-class diversity (generated ÷ real)${lower.length > 2 ? ' and class fidelity' : ''}`,
    xLabel: 'epoch',
    series: lower,
  });
  return charts;
}

/** One row per evaluation: FID, KID, diversity (mean, worst class), fidelity, warnings. */
function qualityTable(records: MetricRecord[]): Table | undefined {
  const evals = evalRecords(records);
  if (!evals.length) return undefined;
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  const fidelity = evals.some((r) => typeof r.fidelity === 'number');
  return {
    caption: 'Quality per evaluation',
    columns: [
      'epoch',
      'step',
      'FID',
      'KID',
      'diversity mean',
      'diversity worst',
      ...(fidelity ? ['fidelity', 'fidelity (real sample)'] : []),
      'warnings',
    ],
    rows: evals.map((r) => [
      (r.epoch as number) + 1,
      num(r.step),
      num(r.fid),
      num(r.kid),
      num(r.diversityMean),
      typeof r.diversityWorst === 'number' ? `${r.diversityWorstClass} ${r.diversityWorst.toFixed(2)}` : null,
      ...(fidelity ? [num(r.fidelity), num(r.fidelityReal)] : []),
      Array.isArray(r.warnings) && r.warnings.length ? r.warnings.join('; ') : '',
    ]),
    notes: [
      `Features: ${String(evals[0]!.extractor)}; ${String(evals[0]!.generated)} generated vs ${String(evals[0]!.real)} real training images per evaluation. Diversity: mean pairwise feature distance within a class, generated ÷ real. Small samples bias FID upwards: compare evaluations of one run, and measure final figures with \`skingan metrics gan\`.`,
    ],
  };
}

/** The eval records, the last one per epoch (a resumed run may have logged an epoch twice). */
function evalRecords(records: MetricRecord[]): MetricRecord[] {
  const byEpoch = new Map<number, MetricRecord>();
  for (const r of records) if (r.type === 'eval' && typeof r.epoch === 'number') byEpoch.set(r.epoch, r);
  return [...byEpoch.values()].sort((a, b) => (a.epoch as number) - (b.epoch as number));
}

/** Sections for one training run folder: status, config, loss curves, the latest sample grids. */
export async function runSections(dir: string, label = basename(dir)): Promise<Section[]> {
  const config = await readJsonIfAny<Record<string, unknown>>(join(dir, 'config.json'));
  const run = await readJsonIfAny<RunJson>(join(dir, 'run.json'));
  const metrics = await readMetricsJsonl(join(dir, 'metrics.jsonl'));
  const samples = (await fs.readdir(join(dir, 'samples')).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.png'))
    .sort();
  const chart = lossChart(`${label}: losses`, metrics);
  const charts = [...(chart ? [chart] : []), ...qualityCharts(label, metrics)];
  const quality = qualityTable(metrics);
  const facts: [string, string][] = Object.entries(config ?? {}).map(([k, v]) => [
    k,
    typeof v === 'string' ? v : JSON.stringify(v),
  ]);
  const status = run
    ? `${run.kind ?? 'run'} · ${describeRunStatus(run)} · backend ${run.backend ?? '?'}`
    : undefined;
  return [
    {
      heading: label,
      ...(status ? { text: [status] } : {}),
      facts,
      ...(charts.length ? { charts } : {}),
      ...(quality ? { tables: [quality] } : {}),
      images: samples.slice(-2).map((f) => ({ path: join(dir, 'samples', f), caption: `${label}: ${f}` })),
    },
  ];
}

/** The report of a single run folder (`skingan report RUN`). */
export async function runReport(dir: string): Promise<Report> {
  return { title: `skingan run: ${basename(dir)}`, subtitle: dir, sections: await runSections(dir) };
}
