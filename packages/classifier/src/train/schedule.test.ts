import { describe, expect, it } from 'vitest';
import { fineTunePhases, oneCyclePhase } from './phases.js';
import { combinedCos, evenMults, oneCycle, schedCos, sliceLrs } from './schedule.js';

// Expected values are fastai's formulas worked by hand:
//   sched_cos(a, b, p) = a + (1 + cos(π(1 − p)))·(b − a)/2
//   fit_one_cycle: lr = combined_cos(0.25, lr_max/25, lr_max, lr_max/1e5), mom = combined_cos(0.25, .95, .85, .95)
describe('one-cycle schedule (fastai fit_one_cycle defaults)', () => {
  const lrMax = 1e-2;
  const sched = oneCycle({ lrMax: [lrMax] });
  const lrAt = (pos: number) => sched.lr(pos)[0]!;

  it.each([
    // [pos, lr, mom]
    [0, 4e-4, 0.95], // start: lr_max/div
    [0.0625, 4e-4 + ((1 - Math.SQRT1_2) * (1e-2 - 4e-4)) / 2, 0.95 - ((1 - Math.SQRT1_2) * 0.1) / 2], // a quarter into warm-up: cos(3π/4) = −√½
    [0.125, (4e-4 + 1e-2) / 2, 0.9], // half of warm-up
    [0.25, 1e-2, 0.85], // the peak
    [0.4375, 1e-7 + ((1 + Math.SQRT1_2) * (1e-2 - 1e-7)) / 2, 0.85 + ((1 - Math.SQRT1_2) * 0.1) / 2], // a quarter into annealing
    [0.625, (1e-2 + 1e-7) / 2, 0.9], // half of annealing
    [1, 1e-7, 0.95], // the end: lr_max/div_final
  ])('at pos %f: lr %f, mom %f', (pos, lr, mom) => {
    expect(lrAt(pos)).toBeCloseTo(lr, 12);
    expect(sched.mom(pos)).toBeCloseTo(mom, 12);
  });

  it('gives step i of n the value at pos i/n, so the first step starts at lr_max/div', () => {
    const n = 40;
    const lrs = Array.from({ length: n }, (_, i) => lrAt(i / n));
    expect(lrs[0]).toBeCloseTo(4e-4, 12);
    expect(lrs[10]).toBeCloseTo(1e-2, 12); // 10/40 = pct_start
    expect(Math.max(...lrs)).toBeCloseTo(1e-2, 12);
    // Monotone up to the peak, then down.
    for (let i = 1; i <= 10; i++) expect(lrs[i]!).toBeGreaterThan(lrs[i - 1]!);
    for (let i = 11; i < n; i++) expect(lrs[i]!).toBeLessThan(lrs[i - 1]!);
  });

  it('scales every parameter group by its own lr_max', () => {
    const s = oneCycle({ lrMax: [1e-4, 1e-3, 1e-2] });
    expect(s.lr(0.25)).toEqual([1e-4, 1e-3, 1e-2]);
    const start = s.lr(0);
    expect(start[0]).toBeCloseTo(1e-4 / 25, 15);
    expect(start[2]).toBeCloseTo(1e-2 / 25, 15);
  });

  it('schedCos and combinedCos follow fastai at their edges', () => {
    expect(schedCos(2, 4, 0)).toBe(2);
    expect(schedCos(2, 4, 1)).toBe(4);
    const f = combinedCos(0.99, 1, 10, 0.5);
    expect(f(0)).toBeCloseTo(1, 12);
    expect(f(0.99)).toBeCloseTo(10, 12);
    expect(f(1)).toBeCloseTo(0.5, 12);
  });
});

describe('discriminative learning rates and fine_tune', () => {
  it('even_mults spaces values geometrically; slice(stop) gives stop/10 to all but the last group', () => {
    const m = evenMults(1e-5, 1e-3, 3);
    expect(m[0]).toBeCloseTo(1e-5, 15);
    expect(m[1]).toBeCloseTo(1e-4, 15);
    expect(m[2]).toBeCloseTo(1e-3, 15);
    expect(sliceLrs({ stop: 2e-3 }, 3)).toEqual([2e-4, 2e-4, 2e-3]);
  });

  it('fine_tune: frozen one-cycle at slice(base_lr) with pct_start .99, then slice(base/2/100, base/2), pct .3, div 5', () => {
    const [frozen, unfrozen] = fineTunePhases(3, { baseLr: 2e-3, freezeEpochs: 1 });
    expect(frozen).toMatchObject({
      epochs: 1,
      frozen: true,
      pctStart: 0.99,
      div: 25,
      divFinal: 1e5,
      moms: [0.95, 0.85, 0.95],
    });
    expect(frozen!.lrMax).toEqual([2e-4, 2e-4, 2e-3]);
    expect(unfrozen).toMatchObject({ epochs: 3, frozen: false, pctStart: 0.3, div: 5, divFinal: 1e5 });
    expect(unfrozen!.lrMax[0]).toBeCloseTo(1e-5, 15);
    expect(unfrozen!.lrMax[1]).toBeCloseTo(1e-4, 15);
    expect(unfrozen!.lrMax[2]).toBeCloseTo(1e-3, 15);
    expect(fineTunePhases(2, { freezeEpochs: 0 })).toHaveLength(1);
  });

  it('fit_one_cycle with one number gives every group that peak', () => {
    expect(oneCyclePhase(2, 3e-3).lrMax).toEqual([3e-3, 3e-3, 3e-3]);
  });
});
