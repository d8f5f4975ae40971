import { SkinganError } from '@skingan/core';
import type { ClassifierSummary } from './summary.js';
import type { Estimate, MetricsTable, TableColumn, TableRow } from './table.js';

export interface TrainingSetRow {
  /** E.g. "real only", "+500 ACGAN→CycleGAN per class". */
  label: string;
  summary: ClassifierSummary;
}

/**
 * The thesis' Table 6.2 layout: one row per training set, per-class precision and recall, then
 * accuracy, plus balanced accuracy (the ISIC 2019 metric) and the intervals the thesis lacked.
 */
export function table62(
  rows: readonly TrainingSetRow[],
  options: { classes?: readonly string[]; title?: string } = {},
): MetricsTable {
  const all = rows[0]?.summary.classes ?? [];
  const classes = options.classes ?? all;
  const index = classes.map((c) => indexOfClass(all, c));
  const columns: TableColumn[] = [];
  classes.forEach((c) => {
    columns.push(
      { key: `${c}.precision`, header: 'prec', group: c },
      { key: `${c}.recall`, header: 'rec', group: c },
    );
  });
  columns.push({ key: 'accuracy', header: 'acc' }, { key: 'balancedAccuracy', header: 'bal. acc' });
  const tableRows: TableRow[] = rows.map(({ label, summary }) => {
    if (summary.classes.join() !== all.join()) {
      throw new SkinganError(
        `row "${label}" has other classes (${summary.classes.join(',')}) than the first row`,
      );
    }
    const cells: Record<string, Estimate> = {
      accuracy: summary.accuracy,
      balancedAccuracy: summary.balancedAccuracy,
    };
    classes.forEach((c, t) => {
      cells[`${c}.precision`] = summary.precision[index[t]!]!;
      cells[`${c}.recall`] = summary.recall[index[t]!]!;
    });
    return { label, cells };
  });
  return {
    title:
      options.title ?? 'Per-class precision/recall and accuracy by training set (thesis Table 6.2 layout)',
    rowHeader: 'training set',
    columns,
    rows: tableRows,
    notes: summaryNotes(rows.map((r) => r.summary)),
  };
}

export interface GeneratedCountEntry {
  /** Synthetic images added (0 for the real-only baseline). */
  n: number;
  /** The path-rank-filter fraction, e.g. "1/8" or 0.125. */
  alpha: string | number;
  summary: ClassifierSummary;
}

/**
 * The thesis' Table 7.2 layout: one row per number of generated images N, one column group per α,
 * each with accuracy and the focus class' (MEL) precision and recall, plus balanced accuracy.
 * Combinations that were not run are empty.
 */
export function table72(
  entries: readonly GeneratedCountEntry[],
  options: { focusClass?: string; title?: string } = {},
): MetricsTable {
  const focus = options.focusClass ?? 'MEL';
  const alphas = [...new Set(entries.map((e) => String(e.alpha)))];
  const ns = [...new Set(entries.map((e) => e.n))].sort((a, b) => a - b);
  const columns: TableColumn[] = [];
  for (const a of alphas) {
    const group = `α=${a}`;
    columns.push(
      { key: `${a}.accuracy`, header: 'acc', group },
      { key: `${a}.precision`, header: `${focus} prec`, group },
      { key: `${a}.recall`, header: `${focus} rec`, group },
      { key: `${a}.balancedAccuracy`, header: 'bal. acc', group },
    );
  }
  const rows: TableRow[] = ns.map((n) => {
    const cells: Record<string, Estimate> = {};
    for (const e of entries.filter((x) => x.n === n)) {
      const a = String(e.alpha);
      const c = indexOfClass(e.summary.classes, focus);
      if (cells[`${a}.accuracy`]) throw new SkinganError(`two results for N = ${n}, α = ${a}`);
      cells[`${a}.accuracy`] = e.summary.accuracy;
      cells[`${a}.precision`] = e.summary.precision[c]!;
      cells[`${a}.recall`] = e.summary.recall[c]!;
      cells[`${a}.balancedAccuracy`] = e.summary.balancedAccuracy;
    }
    return { label: String(n), cells };
  });
  return {
    title:
      options.title ??
      `Accuracy and ${focus} precision/recall by generated images N and α (thesis Table 7.2 layout)`,
    rowHeader: 'N generated',
    columns,
    rows,
    notes: summaryNotes(entries.map((e) => e.summary)),
  };
}

function indexOfClass(classes: readonly string[], c: string): number {
  const i = classes.indexOf(c);
  if (i < 0) throw new SkinganError(`class ${c} is not among ${classes.join(', ')}`, { code: 'USAGE' });
  return i;
}

function summaryNotes(summaries: readonly ClassifierSummary[]): string[] {
  const notes: string[] = [];
  const levels = (kind: ClassifierSummary['interval']) =>
    [
      ...new Set(summaries.filter((s) => s.interval === kind).map((s) => `${+(s.level * 100).toFixed(1)}%`)),
    ].join('/');
  if (summaries.some((s) => s.interval === 'bootstrap')) {
    notes.push(`[lower, upper]: ${levels('bootstrap')} percentile-bootstrap interval over test images.`);
  }
  const seeds = summaries.filter((s) => s.interval === 'seeds' && !s.folds);
  if (seeds.length) {
    const runs = [...new Set(seeds.map((s) => s.runs))].join('/');
    notes.push(
      `Values are means over ${runs} seeds; [lower, upper]: t-based ${levels('seeds')} interval of the mean.`,
    );
  }
  const folded = summaries.filter((s) => s.folds);
  if (folded.length) {
    const runs = [
      ...new Set(
        folded.map((s) => {
          const seeds = s.runs / s.folds!;
          return `${s.runs} runs (${s.folds} folds × ${seeds} seed${seeds === 1 ? '' : 's'})`;
        }),
      ),
    ].join(', ');
    const level = [...new Set(folded.map((s) => `${+(s.level * 100).toFixed(1)}%`))].join('/');
    notes.push(
      `acc and bal. acc: means over ${runs}, [lower, upper]: t-based ${level} interval of the mean; prec and rec: pooled over the folds' test parts (every image once) per seed, then the mean over the seeds with its t-interval (none with one seed).`,
    );
  }
  notes.push('bal. acc: balanced accuracy, the mean per-class recall (the ISIC 2019 challenge metric).');
  notes.push('— : undefined (no test images of the class, or the class was never predicted).');
  return notes;
}
