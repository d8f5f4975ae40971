import { Rng } from '@skingan/core';
import { describe, expect, it } from 'vitest';
import { bootstrapCI } from './bootstrap.js';
import { classificationIntervals } from './classification-intervals.js';
import { compareClassifiers } from './paired.js';

/** 400 test images of 3 classes; the classifier is right with probability `skill`. */
function simulate(seed: number, skill: number) {
  const rng = new Rng(seed);
  const labels: number[] = [];
  const preds: number[] = [];
  for (let i = 0; i < 400; i++) {
    const l = i % 3;
    labels.push(l);
    preds.push(rng.float() < skill ? l : (l + 1 + rng.int(2)) % 3);
  }
  return { labels, preds };
}

describe('bootstrap confidence intervals', () => {
  const { labels, preds } = simulate(1, 0.7);
  const acc = (idx: Int32Array) => {
    let c = 0;
    for (const i of idx) c += labels[i] === preds[i] ? 1 : 0;
    return c / idx.length;
  };

  it('are reproducible with a seed and change with another seed', () => {
    const a = bootstrapCI(labels.length, acc, { seed: 42, resamples: 500 });
    const b = bootstrapCI(labels.length, acc, { seed: 42, resamples: 500 });
    const c = bootstrapCI(labels.length, acc, { seed: 43, resamples: 500 });
    expect(b).toEqual(a);
    expect([c.lower, c.upper]).not.toEqual([a.lower, a.upper]);
  });

  it('match the normal approximation of a proportion to within a few resampling errors', () => {
    const ci = bootstrapCI(labels.length, acc, { seed: 7, resamples: 2000 });
    const p = ci.estimate;
    const se = Math.sqrt((p * (1 - p)) / labels.length);
    expect(ci.lower).toBeCloseTo(p - 1.96 * se, 2);
    expect(ci.upper).toBeCloseTo(p + 1.96 * se, 2);
    expect(ci.undefinedResamples).toBe(0);
  });

  it('classificationIntervals: estimates equal the report, intervals contain them', () => {
    const ci = classificationIntervals(labels, preds, ['A', 'B', 'C'], { seed: 1, resamples: 300 });
    expect(ci.accuracy.estimate).toBeCloseTo(acc(Int32Array.from(labels.keys())), 15);
    for (const c of [ci.accuracy, ci.balancedAccuracy, ...ci.recall, ...ci.precision]) {
      expect(c.lower).toBeLessThanOrEqual(c.estimate);
      expect(c.upper).toBeGreaterThanOrEqual(c.estimate);
      expect(c.upper - c.lower).toBeGreaterThan(0.02);
    }
  });

  it('counts resamples where a metric is undefined instead of averaging NaN', () => {
    // Class C appears once: most resamples miss it or never predict it.
    const ci = classificationIntervals([0, 0, 1, 1, 2], [0, 0, 1, 1, 2], ['A', 'B', 'C'], {
      seed: 3,
      resamples: 200,
    });
    expect(ci.recall[2]!.undefinedResamples).toBeGreaterThan(0);
    expect(ci.recall[2]!.lower).toBe(1);
    expect(Number.isNaN(ci.balancedAccuracy.lower)).toBe(false);
  });
});

describe('paired comparison', () => {
  it('identical classifiers differ by exactly 0', () => {
    const { labels, preds } = simulate(2, 0.6);
    const c = compareClassifiers(labels, preds, preds, ['A', 'B', 'C'], { seed: 1, resamples: 200 });
    expect(c.accuracy.difference).toBe(0);
    expect([c.accuracy.lower, c.accuracy.upper]).toEqual([0, 0]);
    expect(c.accuracy.mcnemar.pValue).toBe(1);
    expect(c.balancedAccuracy.excludesZero).toBe(false);
  });

  it('a clearly better classifier: interval above 0 and a small McNemar p', () => {
    const { labels, preds } = simulate(3, 0.55);
    const better = preds.map((p, i) => (i % 4 === 0 ? labels[i]! : p)); // fixes a quarter of the images
    const c = compareClassifiers(labels, preds, better, ['A', 'B', 'C'], { seed: 1, resamples: 500 });
    expect(c.accuracy.difference).toBeGreaterThan(0.05);
    expect(c.accuracy.lower).toBeGreaterThan(0);
    expect(c.accuracy.mcnemar.c).toBeGreaterThan(0);
    expect(c.accuracy.mcnemar.b).toBe(0);
    expect(c.accuracy.mcnemar.pValue).toBeLessThan(1e-6);
    expect(c.balancedAccuracy.excludesZero).toBe(true);
    expect(c.recall).toHaveLength(3);
  });
});
