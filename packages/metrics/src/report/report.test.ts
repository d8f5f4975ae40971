import { describe, expect, it } from 'vitest';
import { classificationReportFromPredictions } from '../classification/report.js';
import { fid } from '../gan/fid.js';
import { classificationIntervals } from '../stats/classification-intervals.js';
import { classificationTable, confusionMarkdown } from './classification-table.js';
import { ganMetricsTable } from './gan-table.js';
import { summarizeFolds, summarizeReport, summarizeSeeds } from './summary.js';
import { renderCsv, renderMarkdown, tableToJson } from './table.js';
import { table62, table72 } from './thesis-tables.js';

const classes = ['MEL', 'NV', 'BCC'];
const labels = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2];
const base = classificationReportFromPredictions(labels, [0, 0, 1, 1, 1, 1, 1, 0, 2, 1], { classes });
const better = classificationReportFromPredictions(labels, [0, 0, 0, 1, 1, 1, 1, 1, 2, 2], { classes });
const noBcc = classificationReportFromPredictions(labels, [0, 0, 0, 0, 1, 1, 1, 1, 0, 1], { classes });

describe('thesis Table 6.2 layout', () => {
  const table = table62([
    { label: 'real only', summary: summarizeReport(base) },
    { label: '+250 per class', summary: summarizeReport(better) },
    { label: '+500 per class', summary: summarizeReport(noBcc) },
  ]);

  it('rows = training sets, columns = per-class precision/recall, accuracy, balanced accuracy', () => {
    const md = renderMarkdown(table);
    const lines = md.split('\n');
    expect(lines[2]).toBe(
      '| training set | MEL prec | MEL rec | NV prec | NV rec | BCC prec | BCC rec | acc | bal. acc |',
    );
    // real only: MEL 2/3 precision, 2/4 recall; NV 3/6, 3/4; BCC 1/1, 1/2; acc 6/10; bal (0.5+0.75+0.5)/3.
    expect(lines[4]).toBe('| real only | 0.667 | 0.500 | 0.500 | 0.750 | 1.000 | 0.500 | 0.600 | 0.583 |');
    // BCC never predicted in the last row: precision undefined, shown as —.
    expect(lines[6]).toContain('| — | 0.000 |');
    expect(md).toContain('balanced accuracy, the mean per-class recall');
  });

  it('CSV has full precision and empty undefined cells; JSON has null', () => {
    const csv = renderCsv(table).split('\n');
    expect(csv[0]).toBe('training set,MEL prec,MEL rec,NV prec,NV rec,BCC prec,BCC rec,acc,bal. acc');
    expect(csv[1]).toBe(`real only,${2 / 3},0.5,0.5,0.75,1,0.5,0.6,${(0.5 + 0.75 + 0.5) / 3}`);
    expect(csv[3]).toContain(',,0,');
    const json = tableToJson(table) as { rows: { cells: Record<string, { value: number | null } | null> }[] };
    expect(json.rows[2]!.cells['BCC.precision']).toEqual({ value: null, lower: null, upper: null });
  });

  it('a subset of classes, and bootstrap intervals in Markdown and CSV', () => {
    const preds = [0, 0, 1, 1, 1, 1, 1, 0, 2, 1];
    const ci = classificationIntervals(labels, preds, classes, { seed: 1, resamples: 200 });
    const t = table62([{ label: 'real only', summary: summarizeReport(base, ci) }], { classes: ['MEL'] });
    expect(t.columns.map((c) => c.key)).toEqual([
      'MEL.precision',
      'MEL.recall',
      'accuracy',
      'balancedAccuracy',
    ]);
    expect(renderMarkdown(t)).toMatch(/\| 0\.600 \[0\.\d{3}, 0\.\d{3}\] \|/);
    expect(renderCsv(t).split('\n')[0]).toBe(
      'training set,MEL prec,MEL prec lower,MEL prec upper,MEL rec,MEL rec lower,MEL rec upper,acc,acc lower,acc upper,bal. acc,bal. acc lower,bal. acc upper',
    );
    expect(t.notes[0]).toMatch(/95% percentile-bootstrap/);
  });
});

describe('thesis Table 7.2 layout', () => {
  it('rows = N generated, column groups = α with acc / MEL prec / MEL rec; missing runs empty', () => {
    const seeds = summarizeSeeds([base, better]);
    const table = table72([
      { n: 500, alpha: '1/8', summary: summarizeReport(base) },
      { n: 500, alpha: '1/4', summary: summarizeReport(better) },
      { n: 1000, alpha: '1/8', summary: seeds },
    ]);
    const md = renderMarkdown(table).split('\n');
    expect(md[2]).toBe(
      '| N generated | α=1/8 acc | α=1/8 MEL prec | α=1/8 MEL rec | α=1/8 bal. acc | α=1/4 acc | α=1/4 MEL prec | α=1/4 MEL rec | α=1/4 bal. acc |',
    );
    expect(md[4]).toMatch(
      /^\| 500 \| 0\.600 \| 0\.667 \| 0\.500 \| 0\.583 \| 0\.900 \| 1\.000 \| 0\.750 \| 0\.917 \|$/,
    );
    // N = 1000: mean of two seeds with a t interval, and nothing for α = 1/4.
    expect(md[5]).toMatch(/^\| 1000 \| 0\.750 \[[-\d.]+, [\d.]+\] \|.*\| — \| — \| — \| — \|$/);
    expect(table.notes.join(' ')).toContain('means over 2 seeds');
    // 0.6 and 0.9: mean 0.75 ± t(0.975, 1)·0.212/√2 = ±1.91, clipped to the possible [0, 1].
    expect(seeds.accuracy).toEqual({ value: 0.75, lower: 0, upper: 1 });
  });

  it('rejects two results for the same cell', () => {
    const s = summarizeReport(base);
    expect(() =>
      table72([
        { n: 1, alpha: 1, summary: s },
        { n: 1, alpha: 1, summary: s },
      ]),
    ).toThrow(/two results for N = 1/);
  });
});

describe('classification and GAN tables', () => {
  it('per-class rows plus accuracy and balanced accuracy; confusion matrix', () => {
    const md = renderMarkdown(classificationTable(noBcc));
    expect(md).toContain('| BCC | — | 0.000 | 0.000 | — | 2 |');
    expect(md).toContain('| balanced accuracy | — | 0.667 | — | — | — |');
    expect(md).toContain('BCC: never predicted; precision undefined');
    expect(confusionMarkdown(base).split('\n')[2]).toBe('| MEL | 2 | 2 | 0 |');
  });

  it('GAN table names the extractor and says FIDs are not comparable to Inception FIDs', () => {
    const r = fid(
      [
        [0, 1],
        [1, 0],
        [1, 1],
      ],
      [
        [0, 2],
        [2, 0],
        [2, 2],
      ],
    );
    const md = renderMarkdown(
      ganMetricsTable([{ label: 'all', extractor: 'test-random-conv (64-d, 32px)', fid: r }]),
    );
    expect(md).toContain(`| all | ${r.fid.toFixed(2)} | 3 | 3 |`);
    expect(md).toContain('Features: test-random-conv (64-d, 32px)');
    expect(md).toContain('not comparable to published (Inception) FIDs');
  });
});

describe('summarizeFolds', () => {
  // One-hot probabilities of the predicted classes.
  const probs = (pred: number[]) => pred.map((p) => Float64Array.from([0, 1], (c) => (c === p ? 1 : 0)));
  const two = ['MEL', 'NV'];

  it('accuracy over folds × seeds, per-class recall pooled over the folds of each seed', () => {
    // Fold 0 tests 1 MEL + 1 NV, fold 1 tests 3 MEL + 1 NV; one seed.
    const runs = [
      { fold: 0, seed: 1, labels: [0, 1], probs: probs([1, 1]) }, // MEL 0/1, acc 1/2
      { fold: 1, seed: 1, labels: [0, 0, 0, 1], probs: probs([0, 0, 0, 1]) }, // MEL 3/3, acc 1
    ];
    const s = summarizeFolds(runs, two);
    // Accuracy: the mean of the 2 runs, 3/4, with a t-interval (df 1) clipped to [0, 1].
    expect(s.accuracy).toEqual({ value: 0.75, lower: 0, upper: 1 });
    // MEL recall pooled: 3 of the 4 MEL images (the mean of per-fold recalls would be 1/2); one seed: no interval.
    expect(s.recall[0]).toEqual({ value: 0.75 });
    expect([s.runs, s.folds, s.interval]).toEqual([2, 2, 'seeds']);
    expect(table62([{ label: 'ISIC-0', summary: s }]).notes[0]).toBe(
      "acc and bal. acc: means over 2 runs (2 folds × 1 seed), [lower, upper]: t-based 95% interval of the mean; prec and rec: pooled over the folds' test parts (every image once) per seed, then the mean over the seeds with its t-interval (none with one seed).",
    );
  });

  it('refuses to pool a seed that misses a fold', () => {
    const runs = [
      { fold: 0, seed: 1, labels: [0], probs: probs([0]) },
      { fold: 1, seed: 1, labels: [1], probs: probs([1]) },
      { fold: 0, seed: 2, labels: [0], probs: probs([0]) },
    ];
    expect(() => summarizeFolds(runs, two)).toThrow(
      'seed 2 has 1 runs for 2 folds (missing: 1): pooling over the folds needs one run in each',
    );
  });
});
