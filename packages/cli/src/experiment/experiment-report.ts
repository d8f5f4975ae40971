import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { initBackend, type Sample } from '@skingan/core';
import { loadDataset, loadImages, writeGrid } from '@skingan/data';
import { formatEstimate, type MetricsTable } from '@skingan/metrics';
import * as tf from '@tensorflow/tfjs';
import type { Figure, LineChart, Report, Section, Table } from '../report/model.js';
import { lossChart, readMetricsJsonl } from '../report/run-report.js';
import { type ExperimentManifest, finishedOut, readManifest } from './manifest.js';
import { describeClassifiers, describeSplit, sizeMismatch } from './pipelines/common.js';
import { foldOfJob } from './pipelines/folds.js';
import { buildTables } from './tables.js';

/** A metrics table as a report table: grouped columns become "group header" headings. */
function toReportTable(t: MetricsTable): Table {
  return {
    caption: t.title,
    columns: [t.rowHeader, ...t.columns.map((c) => (c.group ? `${c.group} ${c.header}` : c.header))],
    rows: t.rows.map((r) => [
      r.label,
      ...t.columns.map((c) => (r.cells[c.key] ? formatEstimate(r.cells[c.key], c.digits ?? 3) : null)),
    ]),
    notes: t.notes,
  };
}

/**
 * The report of an experiment folder: config, the thesis table, the paired comparisons, FID/KID,
 * loss curves of every model, and sample grids per class (real | ACGAN | CycleGAN, or NV → MEL per α).
 */
export async function experimentReport(dir: string): Promise<Report> {
  const m = await readManifest(dir);
  const done = finishedOut(m);
  const plan = { ...m.plan, jobs: [] };
  const { tables, incomplete } = await buildTables(plan, m.data, done, dir, m.config.seed);
  const sections: Section[] = [];
  const blur = sizeMismatch(m.kind, m.config);

  const statuses = Object.values(m.results ?? {});
  const count = (s: string) => statuses.filter((r) => r.status === s).length;
  sections.push({
    heading: 'Experiment',
    text: [
      m.kind === 'noise2img'
        ? 'noise → image (thesis ch. 6): ACGAN images of every class, translated by one CycleGAN per class, added to the real training images; classifiers compared on the same untouched test images.'
        : 'class → class (thesis ch. 7): nevus images translated into melanoma by CycleGANs trained on the path-rank-filtered MEL images, added to the real training images.',
      `Jobs: ${count('done')} run, ${count('reused')} reused, ${count('failed')} failed, ${count('skipped')} skipped.`,
      ...(incomplete.length ? [`Incomplete (not yet in the tables): ${incomplete.join(', ')}.`] : []),
      ...(blur ? [`Warning: ${blur}.`] : []),
    ],
    facts: [
      ['data', m.data.join(', ')],
      ['split', describeSplit(m.plan.split, m.config.seed, m.config.folds)],
      ['classifiers', describeClassifiers(m.config)],
      ['preset', m.config.preset],
      ['backend', m.backend ?? 'default'],
      ['config', JSON.stringify(m.config)],
    ],
  });
  sections.push({ heading: 'Results', tables: tables.map((t) => toReportTable(t.table)) });

  // Curves of every GAN and of each set's first classifier; of a K-fold plan, fold 0's.
  const charts: LineChart[] = [];
  const seenSets = new Set<string>();
  for (const j of m.jobs) {
    const { fold, id } = foldOfJob(j.id);
    if (fold) continue;
    const set = id.split('/')[1]!;
    const isGan = j.stage === 'acgan' || j.stage === 'cyclegan';
    const isFirstClassifier = j.stage === 'classifier' && !seenSets.has(set) && seenSets.add(set);
    if (!isGan && !isFirstClassifier) continue;
    const chart = lossChart(j.id, await readMetricsJsonl(join(j.out, 'run', 'metrics.jsonl')));
    if (chart) charts.push(chart);
  }
  if (charts.length) sections.push({ heading: 'Training curves', charts });

  const images = await sampleGrids(m, dir, done);
  if (images.length) sections.push({ heading: 'Samples', images });
  sections.push({ heading: 'Jobs', tables: [jobsTable(m)] });
  return {
    title: `skingan ${m.kind}`,
    subtitle: `${m.data.join(', ')} · preset ${m.config.preset} · updated ${m.updatedAt}`,
    sections,
  };
}

/** Sheets of sample images from the plan's sample jobs: one per class (noise2img) or per α (nv2mel). */
async function sampleGrids(
  m: ExperimentManifest,
  dir: string,
  done: (id: string) => string | undefined,
): Promise<Figure[]> {
  const sources = m.plan.sampleJobs.map((s) => ({ ...s, out: done(s.job) })).filter((s) => s.out);
  if (!sources.length) return [];
  await initBackend({ log: null });
  const size = Math.min(64, m.config.cyclegan.size);
  const assets = join(dir, 'report-assets');
  await fs.mkdir(assets, { recursive: true });
  const figures: Figure[] = [];
  const perRow = 8;
  const sets = await Promise.all(
    sources.map(async (s) => ({ ...s, ds: await loadDataset(join(s.out!, 'data')) })),
  );
  const labels = sets.map((s) => s.label);
  // One sheet per class (its rows: the sources), or one NV → MEL sheet; an empty sheet is left out.
  const sheets =
    m.kind === 'noise2img'
      ? sets[0]!.ds.labelSpace.classes.map((cls, ci) => ({
          name: cls,
          file: cls,
          rows: sets.map((s) => s.ds.samples.filter((x) => x.label === ci).slice(0, perRow)),
        }))
      : [{ name: 'NV → MEL', file: 'nv2mel', rows: sets.map((s) => s.ds.samples.slice(0, perRow)) }];
  for (const sheet of sheets) {
    const figure = await grid(sheet.rows, labels, size, join(assets, `samples-${sheet.file}.png`));
    const fold = (m.config.folds ?? 1) > 1 ? ' (fold 0)' : '';
    if (figure) figures.push({ path: figure, caption: `${sheet.name}: ${labels.join(' | ')}${fold}` });
  }
  return figures;
}

/** Rows of images as one labelled sheet; short rows are padded with white. */
async function grid(
  rows: Sample[][],
  labels: string[],
  size: number,
  path: string,
): Promise<string | undefined> {
  const cols = Math.max(...rows.map((r) => r.length));
  if (!cols) return undefined;
  const blocks: tf.Tensor4D[] = [];
  for (const r of rows) {
    if (r.length) blocks.push(await loadImages(r, size));
    if (r.length < cols) blocks.push(tf.ones([cols - r.length, size, size, 3]));
  }
  const all = tf.concat(blocks);
  await writeGrid(path, all, { rows: rows.length, cols, rowLabels: labels });
  tf.dispose([...blocks, all]);
  return path;
}

/** Where each job ran and for how long (a reused job: where and how long it ran when it did). */
function jobsTable(m: ExperimentManifest): Table {
  return {
    caption: 'Jobs: where each ran',
    columns: ['job', 'status', 'host', 'backend', 'seconds'],
    rows: m.jobs.map((j) => {
      const r = m.results?.[j.id];
      return [
        j.id,
        r?.status ?? 'not run',
        r?.host ?? null,
        r?.backend ?? null,
        r ? (r.ms / 1000).toFixed(1) : null,
      ];
    }),
    notes: [
      "host: the machine that ran the job (this one, or a queue worker's); the tables above do not depend on it.",
    ],
  };
}
