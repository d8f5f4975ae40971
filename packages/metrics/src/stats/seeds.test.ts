import { describe, expect, it } from 'vitest';
import { aggregateSeeds, pairedSeedDifference, welchDifference } from './seeds.js';

describe('aggregateSeeds', () => {
  it('mean, sample std and t interval, by hand', () => {
    const a = aggregateSeeds([0.7, 0.72, 0.74]);
    expect(a.mean).toBeCloseTo(0.72, 15);
    expect(a.std).toBeCloseTo(0.02, 15);
    const half = (4.302652729911275 * 0.02) / Math.sqrt(3); // t_{0.975, 2} from scipy
    expect(a.lower).toBeCloseTo(0.72 - half, 9);
    expect(a.upper).toBeCloseTo(0.72 + half, 9);
  });

  it('one run has no spread; NaN runs are counted, not averaged', () => {
    expect(Number.isNaN(aggregateSeeds([0.5]).std)).toBe(true);
    const a = aggregateSeeds([0.5, Number.NaN, 0.7]);
    expect(a.n).toBe(2);
    expect(a.undefinedRuns).toBe(1);
    expect(a.mean).toBeCloseTo(0.6, 15);
  });
});

describe('pairedSeedDifference', () => {
  it('mean difference, t interval and paired t-test p, against scipy.stats.ttest_rel', () => {
    const d = pairedSeedDifference([0.5, 0.6, 0.7], [0.55, 0.62, 0.78]);
    // differences 0.05, 0.02, 0.08: mean 0.05, std 0.03, t = 0.05 / (0.03 / √3)
    expect(d.mean).toBeCloseTo(0.05, 12);
    expect(d.std).toBeCloseTo(0.03, 12);
    expect(d.t).toBeCloseTo(2.886751345948129, 9);
    expect(d.pValue).toBeCloseTo(0.10197348986612546, 9);
    expect(d.lower).toBeCloseTo(0.05 - 0.07452413135531263, 9);
    expect(d.upper).toBeCloseTo(0.05 + 0.07452413135531263, 9);
    const e = pairedSeedDifference([0.61, 0.58, 0.64, 0.6, 0.63], [0.6, 0.6, 0.62, 0.61, 0.62]);
    expect(e.t).toBeCloseTo(-0.2721655269759087, 9);
    expect(e.pValue).toBeCloseTo(0.7989658591927787, 9);
  });

  it('leaves out pairs with a NaN, and handles no spread and too few pairs', () => {
    const d = pairedSeedDifference([0.5, Number.NaN, 0.6, 0.7], [0.55, 0.9, Number.NaN, 0.75]);
    expect(d.n).toBe(2);
    expect(d.undefinedRuns).toBe(2);
    expect(d.mean).toBeCloseTo(0.05, 12);
    expect(pairedSeedDifference([0.5, 0.6], [0.5, 0.6]).pValue).toBe(1);
    expect(pairedSeedDifference([0.5, 0.25], [0.625, 0.375]).pValue).toBe(0); // exact binary fractions: std 0
    expect(Number.isNaN(pairedSeedDifference([0.5], [0.6]).pValue)).toBe(true);
    expect(() => pairedSeedDifference([0.5], [0.6, 0.7])).toThrow('paired runs differ in number: 1 vs 2');
  });
});

describe('welchDifference', () => {
  it('difference, Welch df, interval and p, by hand and against scipy.stats.ttest_ind(equal_var=False)', () => {
    // a: mean 2.5, var 5/3 → va = 5/12; b: mean 5, var 13 → vb = 13/3; se² = 4.75
    const w = welchDifference([1, 2, 3, 4], [2, 4, 9], { level: 0.9 });
    expect(w.difference).toBe(2.5);
    expect(w.t).toBeCloseTo(2.5 / Math.sqrt(4.75), 12);
    expect(w.df).toBeCloseTo(4.75 ** 2 / ((5 / 12) ** 2 / 3 + (13 / 3) ** 2 / 2), 12); // 2.388385199705955
    expect(w.pValue).toBeCloseTo(0.353209476094474, 9);
    expect(w.lower).toBeCloseTo(-3.211444555313392, 8);
    expect(w.upper).toBeCloseTo(8.211444555313392, 8);
    expect(w.a.n).toBe(4);
    expect(w.b.mean).toBe(5);
  });

  it('the yardstick: skingan minus the PyTorch recipe, test balanced accuracy over five seeds each', () => {
    const recipe = [0.4544, 0.457, 0.4284, 0.4673, 0.5229];
    const skingan = [0.6157, 0.5476, 0.5881, 0.4696, 0.4742];
    const w = welchDifference(recipe, skingan);
    expect(w.difference).toBeCloseTo(0.07304, 12);
    expect(w.t).toBeCloseTo(2.189749508583825, 9);
    expect(w.df).toBeCloseTo(6.077649291581319, 9);
    expect(w.pValue).toBeCloseTo(0.07052528127759394, 9);
    expect(w.lower).toBeCloseTo(-0.008325652334601835, 8);
    expect(w.upper).toBeCloseTo(0.15440565233460193, 8);
  });

  it('leaves out NaN runs, and handles no spread and too few runs', () => {
    const w = welchDifference([0.5, Number.NaN, 0.7], [0.6, 0.8]);
    expect(w.a.n).toBe(2);
    expect(w.a.undefinedRuns).toBe(1);
    expect(w.difference).toBeCloseTo(0.1, 12);
    expect(welchDifference([0.5, 0.5], [0.5, 0.5]).pValue).toBe(1);
    expect(welchDifference([0.5, 0.5], [0.75, 0.75]).pValue).toBe(0);
    const one = welchDifference([0.5], [0.6, 0.7]);
    expect(one.difference).toBeCloseTo(0.15, 12);
    expect(Number.isNaN(one.pValue)).toBe(true);
    expect(Number.isNaN(one.lower)).toBe(true);
  });
});
