import { promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import { describeRunStatus, type RunJson } from '@skingan/core';
import type { LineChart, Report, Section } from './model.js';

type MetricRecord = Record<string, unknown> & { type?: string; step?: number };

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fs.readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

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

/** Sections for one training run folder: status, config, loss curves, the latest sample grids. */
export async function runSections(dir: string, label = basename(dir)): Promise<Section[]> {
  const config = await readJson<Record<string, unknown>>(join(dir, 'config.json'));
  const run = await readJson<RunJson>(join(dir, 'run.json'));
  const metrics = await readMetricsJsonl(join(dir, 'metrics.jsonl'));
  const samples = (await fs.readdir(join(dir, 'samples')).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.png'))
    .sort();
  const chart = lossChart(`${label}: losses`, metrics);
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
      ...(chart ? { charts: [chart] } : {}),
      images: samples.slice(-2).map((f) => ({ path: join(dir, 'samples', f), caption: `${label}: ${f}` })),
    },
  ];
}

/** The report of a single run folder (`skingan report RUN`). */
export async function runReport(dir: string): Promise<Report> {
  return { title: `skingan run: ${basename(dir)}`, subtitle: dir, sections: await runSections(dir) };
}
