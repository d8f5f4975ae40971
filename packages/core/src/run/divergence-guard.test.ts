import { describe, expect, it } from 'vitest';
import { DivergedError, DivergenceGuard, divergenceOf } from './divergence-guard.js';

describe('DivergenceGuard', () => {
  it('stops at a NaN or infinite loss at once, naming the step and the loss', () => {
    const guard = new DivergenceGuard();
    expect(guard.check(1, { d: 0.7, g: 2 })).toBeUndefined();
    expect(guard.check(2, { d: Number.NaN, g: 2 })).toMatchObject({
      kind: 'non-finite',
      step: 2,
      loss: 'd',
      message: 'loss d = NaN at step 2',
    });
    expect(guard.check(3, { loss: Number.POSITIVE_INFINITY })?.message).toBe('loss = Infinity at step 3');
  });

  it('stops a loss over 1000× the median of its recent values (1.3e11 after losses near 2)', () => {
    const guard = new DivergenceGuard({ window: 3 });
    for (const [i, v] of [2.1, 2.0, 50, 1.9].entries())
      expect(guard.check(i + 1, { loss: v })).toBeUndefined();
    // The window holds 2.0, 50, 1.9: median 2.0; 1999 is below 1000 × 2.0.
    expect(guard.check(5, { loss: 1999 })).toBeUndefined();
    // Window 50, 1.9, 1999: median 50, threshold 50 000.
    expect(guard.check(6, { loss: 49_999 })).toBeUndefined();
    expect(guard.check(7, { loss: 1.3e11 })).toMatchObject({
      kind: 'exploding',
      step: 7,
      loss: 'loss',
      value: 1.3e11,
      median: 1999,
      message: 'loss = 1.30e+11 at step 7, over 1000× its median 1999 of the last 3 steps',
    });
  });

  it('scales the threshold from 1 at least, so a loss rising from near 0 is not divergence', () => {
    const guard = new DivergenceGuard();
    for (let i = 1; i <= 10; i++) guard.check(i, { d: 1e-4 });
    expect(guard.check(11, { d: 900 })).toBeUndefined();
    expect(guard.check(12, { d: 1e4 })?.kind).toBe('exploding');
  });

  it('judges a resumed run as the uninterrupted one (its state round-trips)', () => {
    const a = new DivergenceGuard();
    for (let i = 1; i <= 5; i++) a.check(i, { loss: 3 });
    const b = new DivergenceGuard();
    b.setState(JSON.parse(JSON.stringify(a.getState())));
    expect(b.check(6, { loss: 3001 })?.median).toBe(3);
    expect(new DivergenceGuard().check(6, { loss: 3001 })).toBeUndefined();
  });

  it('DivergedError carries a JSON-safe record with the last good checkpoint', () => {
    const guard = new DivergenceGuard();
    const d = guard.check(4, { loss: Number.NaN })!;
    const e = new DivergedError('classifier training', d, { checkpointStep: 2, hint: 'lower --lr' });
    expect(e.code).toBe('DIVERGED');
    expect(e.message).toBe(
      'classifier training diverged: loss = NaN at step 4. The last good checkpoint (step 2) is kept for --resume.',
    );
    expect(divergenceOf(e)).toEqual({
      kind: 'non-finite',
      step: 4,
      loss: 'loss',
      value: 'NaN',
      checkpointStep: 2,
      message: 'loss = NaN at step 4',
    });
    expect(divergenceOf(new Error('x'))).toBeUndefined();
  });
});
