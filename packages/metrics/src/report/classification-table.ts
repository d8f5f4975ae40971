import type { ClassificationReport } from '../classification/report.js';
import type { ClassificationIntervals } from '../stats/classification-intervals.js';
import { estimateWith, type MetricsTable, type TableRow } from './table.js';

/**
 * One classifier: a row per class (precision, recall, F1, AUC, support), then the overall rows
 * (accuracy, balanced accuracy, macro F1/AUC), with bootstrap intervals where given.
 */
export function classificationTable(
  report: ClassificationReport,
  intervals?: ClassificationIntervals,
  options: { title?: string } = {},
): MetricsTable {
  const rows: TableRow[] = report.perClass.map((m, c) => ({
    label: m.class,
    cells: {
      precision: estimateWith(m.precision, intervals?.precision[c]),
      recall: estimateWith(m.recall, intervals?.recall[c]),
      f1: estimateWith(m.f1, intervals?.f1[c]),
      auc: { value: m.auc },
      support: { value: m.support },
    },
  }));
  rows.push(
    { label: 'accuracy', cells: { recall: estimateWith(report.accuracy, intervals?.accuracy) } },
    {
      label: 'balanced accuracy',
      cells: { recall: estimateWith(report.balancedAccuracy, intervals?.balancedAccuracy) },
    },
    {
      label: 'macro average',
      cells: { f1: estimateWith(report.macroF1, intervals?.macroF1), auc: { value: report.macroAuc } },
    },
  );
  const notes = [
    `${report.n} test images. Balanced accuracy = mean recall over ${report.balancedAccuracyClasses.length} classes with test images (ISIC 2019 metric); it and accuracy sit in the recall column.`,
  ];
  if (intervals) {
    notes.push(
      `[lower, upper]: ${+(intervals.accuracy.level * 100).toFixed(1)}% percentile-bootstrap interval over test images (${intervals.accuracy.resamples} resamples).`,
    );
  }
  notes.push(...report.notes);
  return {
    title: options.title ?? 'Classification metrics',
    rowHeader: 'class',
    columns: [
      { key: 'precision', header: 'precision' },
      { key: 'recall', header: 'recall' },
      { key: 'f1', header: 'F1' },
      { key: 'auc', header: 'AUC (one-vs-rest)' },
      { key: 'support', header: 'support', digits: 0 },
    ],
    rows,
    notes,
  };
}

/** The confusion matrix as Markdown (rows = true class, columns = predicted). */
export function confusionMarkdown(report: ClassificationReport): string {
  const head = `| true \\ predicted | ${report.classes.join(' | ')} |`;
  const sep = `|---|${report.classes.map(() => '---:').join('|')}|`;
  const body = report.confusion.map((r, i) => `| ${report.classes[i]} | ${r.join(' | ')} |`);
  return `${[head, sep, ...body].join('\n')}\n`;
}
