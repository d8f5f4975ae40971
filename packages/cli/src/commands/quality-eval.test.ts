import { EvalConfigSchema } from '@skingan/core';
import { describe, expect, it } from 'vitest';
import { createTrainingProbe, EvalBudget, limitPerClass } from './quality-eval.js';

describe('EvalBudget', () => {
  it('runs the first and the final evaluation, and others while the last one took ≤ maxShare of the time', () => {
    let t = 0;
    const budget = new EvalBudget(0.1, () => t);
    expect(budget.allows(false)).toBe(true); // the first
    t = 1000;
    budget.done(990); // took 10 ms, ended at t = 1000
    t = 1040; // 40 ms of training: 10 / (10 + 40) = 20% > 10%
    expect(budget.allows(false)).toBe(false);
    expect(budget.allows(true)).toBe(true); // the final epoch is always measured
    t = 1090; // 90 ms of training: 10 / (10 + 90) = 10%
    expect(budget.allows(false)).toBe(true);
    expect(budget.last).toBe(10);
  });

  it('maxShare 1 never skips', () => {
    let t = 0;
    const budget = new EvalBudget(1, () => t);
    t = 1000;
    budget.done(0);
    expect(budget.allows(false)).toBe(true);
  });
});

describe('limitPerClass', () => {
  const samples = Array.from({ length: 12 }, (_, i) => ({ id: `s${i}`, label: i % 3, path: '' }));
  it('keeps at most n per class, in the original order, the same for the same seed', () => {
    const a = limitPerClass(samples, 2, 7);
    expect(a).toHaveLength(6);
    for (const c of [0, 1, 2]) expect(a.filter((s) => s.label === c)).toHaveLength(2);
    expect(a.map((s) => Number(s.id.slice(1)))).toEqual(
      [...a.map((s) => Number(s.id.slice(1)))].sort((x, y) => x - y),
    );
    expect(limitPerClass(samples, 2, 7)).toEqual(a);
    expect(limitPerClass(samples, 100, 7)).toEqual(samples);
    expect(limitPerClass(samples, undefined, 7)).toEqual(samples);
  });
});

describe('createTrainingProbe', () => {
  it('turns the evaluation off, saying why, when the run has fewer than 2 real images (the training goes on)', async () => {
    const lines: string[] = [];
    const probe = await createTrainingProbe({
      eval: EvalConfigSchema.parse({ extractor: 'test' }),
      preset: 'test',
      seed: 1,
      classes: ['MEL'],
      samples: [{ id: 'only', label: 0, path: '/nonexistent/only.jpg' }],
      imageSize: 32,
      log: (l) => lines.push(l),
    });
    expect(probe).toBeUndefined();
    expect(lines).toEqual([
      'eval: off for this run: it has 1 real training image to compare with; at least 2 are needed',
    ]);
  });
});
