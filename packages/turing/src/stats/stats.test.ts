import { describe, expect, it } from 'vitest';
import { fleissKappa } from './fleiss.js';
import { binomialTestHalf, wilson } from './proportions.js';
import { syntheticScore } from './rating-scale.js';

describe('wilson', () => {
  it('matches the hand-computed interval for 8 of 10 (statsmodels: 0.4901625, 0.9433178)', () => {
    const p = wilson(8, 10);
    expect(p.value).toBe(0.8);
    expect(p.lower).toBeCloseTo(0.4901625, 6);
    expect(p.upper).toBeCloseTo(0.9433178, 6);
  });

  it('is exact at the edges and undefined for n = 0', () => {
    expect(wilson(0, 5).lower).toBe(0);
    expect(wilson(0, 5).upper).toBeCloseTo(0.4344825, 6); // z²/(n+z²) = 3.8415/8.8415
    expect(wilson(5, 5).upper).toBe(1);
    const none = wilson(0, 0);
    expect(Number.isNaN(none.value) && Number.isNaN(none.lower) && Number.isNaN(none.upper)).toBe(true);
  });

  it('refuses impossible counts', () => {
    expect(() => wilson(3, 2)).toThrow('a proportion needs integers 0 ≤ k ≤ n, got k = 3, n = 2');
    expect(() => wilson(1.5, 4)).toThrow(RangeError);
  });
});

describe('binomialTestHalf', () => {
  it('gives the exact two-sided p-values', () => {
    expect(binomialTestHalf(9, 10)).toBeCloseTo(22 / 1024, 14); // 2·(1 + 10)/2¹⁰
    expect(binomialTestHalf(1, 10)).toBeCloseTo(22 / 1024, 14); // symmetric
    expect(binomialTestHalf(2, 10)).toBeCloseTo(112 / 1024, 14); // 2·(1 + 10 + 45)/2¹⁰
    expect(binomialTestHalf(10, 10)).toBeCloseTo(2 / 1024, 14);
    expect(binomialTestHalf(5, 10)).toBe(1);
    expect(binomialTestHalf(0, 0)).toBe(1);
  });
});

describe('fleissKappa', () => {
  it('reproduces Fleiss’ worked example (10 items, 14 raters, 5 categories): κ = 0.2099', () => {
    const rows = [
      [0, 0, 0, 0, 14],
      [0, 2, 6, 4, 2],
      [0, 0, 3, 5, 6],
      [0, 3, 9, 2, 0],
      [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0],
      [3, 2, 6, 3, 0],
      [2, 5, 3, 2, 2],
      [6, 5, 2, 1, 0],
      [0, 2, 2, 3, 7],
    ];
    // P̄ = 0.378022, P̄e = 0.212755 (computed by hand from the table).
    expect(fleissKappa(rows)).toBeCloseTo(
      (0.378021978021978 - 0.21275510204081632) / (1 - 0.21275510204081632),
      12,
    );
  });

  it('two raters, two categories: agree, agree, disagree → κ = 1/3', () => {
    // P̄ = (1 + 1 + 0)/3 = 2/3; both categories ½ overall, P̄e = ½; κ = (2/3 − ½)/(½).
    expect(
      fleissKappa([
        [2, 0],
        [0, 2],
        [1, 1],
      ]),
    ).toBeCloseTo(1 / 3, 14);
  });

  it('is undefined when every rating falls in one category, and refuses uneven items', () => {
    expect(
      fleissKappa([
        [2, 0],
        [2, 0],
      ]),
    ).toBeNaN();
    expect(() =>
      fleissKappa([
        [2, 0],
        [1, 0],
      ]),
    ).toThrow("Fleiss' κ: item 1 has 1 ratings in 2 categories, expected 2 in 2");
  });
});

describe('syntheticScore', () => {
  it('orders answers from certain-real (1) to certain-synthetic (10)', () => {
    expect([5, 4, 3, 2, 1].map((c) => syntheticScore('real', c))).toEqual([1, 2, 3, 4, 5]);
    expect([1, 2, 3, 4, 5].map((c) => syntheticScore('synthetic', c))).toEqual([6, 7, 8, 9, 10]);
  });
});
