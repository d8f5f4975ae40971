import { describe, expect, it } from 'vitest';
import { classificationReport, classificationReportFromPredictions, confusionMatrix } from './report.js';
import { rocAuc } from './roc-auc.js';

// A fixed 3-class example, computed by hand below.
//   true A: predicted A, A, B, C   true B: B, B, A   true C: C, C, B
const classes = ['A', 'B', 'C'];
const labels = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
const probs = [
  [0.7, 0.2, 0.1],
  [0.6, 0.3, 0.1],
  [0.3, 0.5, 0.2],
  [0.2, 0.3, 0.5],
  [0.1, 0.8, 0.1],
  [0.2, 0.6, 0.2],
  [0.5, 0.4, 0.1],
  [0.1, 0.1, 0.8],
  [0.2, 0.2, 0.6],
  [0.1, 0.6, 0.3],
];

describe('classificationReport on a hand-computed 3-class example', () => {
  const r = classificationReport(labels, probs, { classes });

  it('confusion matrix and accuracy', () => {
    expect(r.confusion).toEqual([
      [2, 1, 1],
      [1, 2, 0],
      [0, 1, 2],
    ]);
    expect(r.n).toBe(10);
    expect(r.accuracy).toBeCloseTo(6 / 10, 15);
  });

  it('per-class precision, recall, F1, support', () => {
    // precision = TP / column sum, recall = TP / row sum, F1 = 2TP / (row + column).
    expect(r.perClass.map((m) => m.support)).toEqual([4, 3, 3]);
    expect(r.perClass.map((m) => m.predicted)).toEqual([3, 4, 3]);
    const expected = [
      { precision: 2 / 3, recall: 2 / 4, f1: 4 / 7 },
      { precision: 2 / 4, recall: 2 / 3, f1: 4 / 7 },
      { precision: 2 / 3, recall: 2 / 3, f1: 4 / 6 },
    ];
    expected.forEach((e, c) => {
      expect(r.perClass[c]!.precision).toBeCloseTo(e.precision, 15);
      expect(r.perClass[c]!.recall).toBeCloseTo(e.recall, 15);
      expect(r.perClass[c]!.f1).toBeCloseTo(e.f1, 15);
    });
    expect(r.macroF1).toBeCloseTo((4 / 7 + 4 / 7 + 2 / 3) / 3, 15);
  });

  it('balanced accuracy is the mean per-class recall', () => {
    expect(r.balancedAccuracy).toBeCloseTo((1 / 2 + 2 / 3 + 2 / 3) / 3, 15);
    expect(r.balancedAccuracy).toBeCloseTo(11 / 18, 15);
    const meanRecall = r.perClass.reduce((s, m) => s + m.recall, 0) / 3;
    expect(r.balancedAccuracy).toBe(meanRecall);
    expect(r.balancedAccuracyClasses).toEqual(classes);
    expect(r.notes).toEqual([]);
  });

  it('one-vs-rest AUC with tied scores counting one half', () => {
    // A: positives {.7,.6,.3,.2} vs negatives {.1,.2,.5,.1,.2,.1}: 6 + 6 + 5 + (3 + 2·½) = 21 of 24.
    // B: positives {.8,.6,.4} vs 7 negatives with one .6: 7 + 6.5 + 5 = 18.5 of 21.
    // C: positives {.8,.6,.3} vs 7 negatives all below .3 except .5: 7 + 7 + 6 = 20 of 21.
    expect(r.perClass[0]!.auc).toBeCloseTo(21 / 24, 15);
    expect(r.perClass[1]!.auc).toBeCloseTo(18.5 / 21, 15);
    expect(r.perClass[2]!.auc).toBeCloseTo(20 / 21, 15);
    expect(r.macroAuc).toBeCloseTo((21 / 24 + 18.5 / 21 + 20 / 21) / 3, 15);
  });

  it('predictions alone give the same counts (and no AUC)', () => {
    const p = classificationReportFromPredictions(labels, [0, 0, 1, 2, 1, 1, 0, 2, 2, 1], { classes });
    expect(p.confusion).toEqual(r.confusion);
    expect(p.balancedAccuracy).toBe(r.balancedAccuracy);
    expect(Number.isNaN(p.perClass[0]!.auc)).toBe(true);
  });

  it('accepts Float32Array rows', () => {
    const f = classificationReport(
      labels,
      probs.map((p) => Float32Array.from(p)),
      { classes },
    );
    expect(f.confusion).toEqual(r.confusion);
  });
});

describe('undefined per-class values', () => {
  it('a class without test images: recall NaN, left out of balanced accuracy, named in notes', () => {
    // C has no test images but is predicted once.
    const r = classificationReportFromPredictions([0, 0, 1, 1], [0, 2, 1, 1], { classes });
    expect(Number.isNaN(r.perClass[2]!.recall)).toBe(true);
    expect(r.perClass[2]!.precision).toBe(0);
    expect(r.perClass[2]!.f1).toBe(0);
    expect(r.balancedAccuracy).toBeCloseTo((1 / 2 + 1) / 2, 15);
    expect(r.balancedAccuracyClasses).toEqual(['A', 'B']);
    expect(r.notes).toEqual(['C: no test images; recall undefined, left out of balanced accuracy']);
    expect(JSON.parse(JSON.stringify(r)).perClass[2].recall).toBeNull();
  });

  it('a class never predicted: precision NaN, recall 0, F1 0', () => {
    const r = classificationReportFromPredictions([0, 1, 2], [0, 0, 2], { classes });
    expect(Number.isNaN(r.perClass[1]!.precision)).toBe(true);
    expect(r.perClass[1]!.recall).toBe(0);
    expect(r.perClass[1]!.f1).toBe(0);
    expect(r.balancedAccuracy).toBeCloseTo(2 / 3, 15);
    expect(r.notes).toEqual(['B: never predicted; precision undefined']);
  });

  it('a class neither present nor predicted: F1 NaN and macro F1 over the rest', () => {
    const r = classificationReportFromPredictions([0, 1], [0, 1], { classes });
    expect(Number.isNaN(r.perClass[2]!.f1)).toBe(true);
    expect(r.macroF1).toBe(1);
  });
});

describe('input errors name the row', () => {
  it('label out of range', () => {
    expect(() =>
      classificationReport(
        [0, 3],
        [
          [1, 0, 0],
          [0, 1, 0],
        ],
        { classes },
      ),
    ).toThrow(/row 1: label 3 is not a class index/);
  });
  it('wrong row width', () => {
    expect(() =>
      classificationReport(
        [0, 1],
        [
          [1, 0, 0],
          [0, 1],
        ],
        { classes },
      ),
    ).toThrow(/row 1: 2 probabilities for 3/);
  });
  it('NaN probability', () => {
    expect(() => classificationReport([0], [[Number.NaN, 0, 0]], { classes })).toThrow(
      /row 0: probability of class 0/,
    );
  });
  it('count mismatch', () => {
    expect(() => classificationReport([0, 1], [[1, 0, 0]], { classes })).toThrow(
      /2 labels but 1 probability rows/,
    );
  });
});

describe('rocAuc', () => {
  it('is 1 for a perfect ranking, 0 for a reversed one, ½ for constant scores', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [false, false, true, true])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [false, false, true, true])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [false, true, true, false])).toBe(0.5);
  });
  it('is NaN without positives or negatives', () => {
    expect(Number.isNaN(rocAuc([0.1, 0.2], [true, true]))).toBe(true);
  });
  it('confusionMatrix counts only the given indices, with repeats', () => {
    expect(confusionMatrix([0, 1], [0, 0], 2, [1, 1, 0])).toEqual([
      [1, 0],
      [2, 0],
    ]);
  });
});
