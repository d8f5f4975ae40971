import { describe, expect, it } from 'vitest';
import { lrFinderLoop, minimum, steep, suggestLr, valley } from './lr-find.js';

describe('LR finder loop (fastai LRFinder)', () => {
  // A loss that falls as the learning rate grows, then explodes past lr = 1e-2.
  const lossAt = (lr: number) => (lr < 1e-2 ? 3 - (Math.log10(lr) + 7) / 10 : 2.5 + 1e3 * (lr - 1e-2));

  it('sweeps exponentially from 1e-7 to 10 over 100 steps by default', async () => {
    const r = await lrFinderLoop(async () => 1, {});
    expect(r.stopped).toBe('completed');
    expect(r.lrs).toHaveLength(100);
    expect(r.lrs[0]).toBeCloseTo(1e-7, 15);
    expect(r.lrs[50]).toBeCloseTo(1e-7 * (10 / 1e-7) ** 0.5, 10);
    expect(r.lrs[99]).toBeCloseTo(1e-7 * (10 / 1e-7) ** 0.99, 6);
  });

  it('smooths losses as fastai’s Recorder (β = 0.98, debiased)', async () => {
    const raw = [2, 1, 4];
    const r = await lrFinderLoop(async (_lr, i) => raw[i] ?? 1, { numIt: 6, stopDiv: false });
    const avg1 = 0.02 * 2;
    const avg2 = avg1 * 0.98 + 0.02 * 1;
    expect(r.smoothed[0]).toBeCloseTo(2, 10);
    expect(r.smoothed[1]).toBeCloseTo(avg2 / (1 - 0.98 ** 2), 10);
  });

  it('stops on divergence: the first step whose smoothed loss exceeds 4× the best', async () => {
    const r = await lrFinderLoop(async (lr) => lossAt(lr));
    expect(r.stopped).toBe('diverged');
    expect(r.lrs.length).toBeLessThan(100);
    const best = Math.min(...r.smoothed);
    expect(r.smoothed[r.smoothed.length - 1]!).toBeGreaterThan(4 * best);
    for (const s of r.smoothed.slice(0, -1))
      expect(s).toBeLessThanOrEqual(4 * Math.min(...r.smoothed.slice(0, r.smoothed.indexOf(s) + 1)));
    expect(r.lrs[r.lrs.length - 1]!).toBeGreaterThan(1e-2);
    // The suggestions lie in the falling part of the curve, below the blow-up at 1e-2.
    expect(r.suggestion!.valley).toBeGreaterThan(1e-7);
    expect(r.suggestion!.valley).toBeLessThan(1e-2);
    expect(r.suggestion!.steep).toBeLessThan(1e-2);
  });

  it('stops on a NaN loss, and runs to the end with stopDiv false', async () => {
    const nan = await lrFinderLoop(async (_lr, i) => (i === 30 ? Number.NaN : 1));
    expect(nan.stopped).toBe('diverged');
    expect(nan.lrs).toHaveLength(31);
    const all = await lrFinderLoop(async (lr) => lossAt(lr), { stopDiv: false, numIt: 50 });
    expect(all.stopped).toBe('completed');
    expect(all.lrs).toHaveLength(50);
  });
});

describe('suggestions (fastai valley, steep, minimum)', () => {
  it('valley: start + ⌊len/3⌋ + ⌊len/6⌋ of the longest decreasing run (fastai’s indexing)', () => {
    // Longest decreasing subsequence: 9,8,6,4,2,1 (indices 0,1,3,4,5,6), length 6, ending at 6:
    // max_start = 6 − 6 = 0, sections = 6/3 = 2, idx = 0 + 2 + 1 = 3.
    const lrs = [1, 2, 3, 4, 5, 6, 7, 8];
    const losses = [9, 8, 9, 6, 4, 2, 1, 3];
    expect(valley(lrs, losses)).toEqual([4, 6]);
    // fastai's quirk: a run starting at 0 of length L gives max_start = end − L = −1 when it ends at L − 1.
    // 5,4,3,2,1 ends at 4 with length 5: max_start = −1, sections = 5/3, idx = −1 + 1 + 0 = 0.
    expect(valley([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])).toEqual([1, 5]);
  });

  it('steep: largest drop per log-step; minimum: a tenth of the lr at the lowest loss', () => {
    const lrs = [1, 10, 100, 1000];
    expect(steep(lrs, [5, 4, 1, 0.5])).toEqual([10, 4]);
    expect(minimum(lrs, [5, 4, 1, 0.5])).toEqual([100, 1000, 0.5]);
  });

  it('drops the first numIt/10 and the last 5 points before suggesting, and everything from a NaN', () => {
    const lrs = Array.from({ length: 20 }, (_, i) => 10 ** (i - 10));
    const losses = lrs.map((_, i) => (i === 15 ? Number.NaN : 20 - i));
    const { suggestion } = suggestLr(lrs, losses, 20);
    // Kept: indices 2..14 (NaN at 15 is already past the −5 cut); the minimum is at index 14.
    expect(suggestion!.minimum).toBeCloseTo(lrs[14]! / 10, 12);
    expect(suggestLr(lrs.slice(0, 6), losses.slice(0, 6), 100).suggestion).toBeNull();
  });
});
