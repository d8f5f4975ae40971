import { describe, expect, it } from 'vitest';
import { DivergenceMonitor } from './divergence.js';

describe('DivergenceMonitor', () => {
  it('reports a NaN or infinite loss at once, naming it', () => {
    const m = new DivergenceMonitor({ patience: 5, maxGeneratorAdvLoss: 20 });
    expect(m.check(1, { d: 1, g: 2 }, 1)).toBeUndefined();
    const d = m.check(2, { d: Number.NaN, g: Number.POSITIVE_INFINITY }, 1);
    expect(d?.kind).toBe('non-finite');
    expect(d?.message).toBe('loss d = NaN, loss g = Infinity at step 2');
  });

  it('reports frozen losses only after `patience` unchanged steps in a row', () => {
    const m = new DivergenceMonitor({ patience: 3, maxGeneratorAdvLoss: 20 });
    expect(m.check(1, { d: 1, g: 2 }, 1)).toBeUndefined();
    expect(m.check(2, { d: 1, g: 2 }, 1)).toBeUndefined();
    expect(m.check(3, { d: 1, g: 2 }, 1)).toBeUndefined();
    expect(m.check(4, { d: 1.5, g: 2 }, 1)).toBeUndefined(); // moved: the count starts over
    expect(m.check(5, { d: 1.5, g: 2 }, 1)).toBeUndefined();
    expect(m.check(6, { d: 1.5, g: 2 }, 1)).toBeUndefined();
    expect(m.check(7, { d: 1.5, g: 2 }, 1)?.kind).toBe('frozen');
  });

  it('reports a discriminator that rejects every fake for `patience` steps', () => {
    const m = new DivergenceMonitor({ patience: 2, maxGeneratorAdvLoss: 20 });
    expect(m.check(1, { d: 0.1, g: 30 }, 30)).toBeUndefined();
    expect(m.check(2, { d: 0.2, g: 5 }, 5)).toBeUndefined();
    expect(m.check(3, { d: 0.1, g: 31 }, 31)).toBeUndefined();
    const d = m.check(4, { d: 0.3, g: 32 }, 32);
    expect(d?.kind).toBe('discriminator-wins');
    expect(d?.message).toMatch(/rejected every generated image.*for 2 steps/);
  });

  it('continues counting from a saved state', () => {
    const a = new DivergenceMonitor({ patience: 3, maxGeneratorAdvLoss: 20 });
    a.check(1, { d: 1 }, 25);
    a.check(2, { d: 2 }, 25);
    const b = new DivergenceMonitor({ patience: 3, maxGeneratorAdvLoss: 20 });
    b.setState(a.getState());
    expect(b.check(3, { d: 3 }, 25)?.kind).toBe('discriminator-wins');
  });
});

describe('DivergenceMonitor on the shared guard', () => {
  it('learningRateG 1e6: losses near 1e14 after losses near 1 stop the run as exploding, naming step and loss', () => {
    const m = new DivergenceMonitor({ patience: 5, maxGeneratorAdvLoss: 20 });
    for (let s = 1; s <= 4; s++) expect(m.check(s, { d: 1.3 + s / 100, g: 0.9 }, 0.7)).toBeUndefined();
    const d = m.check(5, { d: 1.3, g: 1e14 }, 0.7);
    expect(d).toMatchObject({ kind: 'exploding', step: 5, loss: 'g', value: 1e14, median: 0.9 });
    // The guard's history is part of the checkpointed state.
    const b = new DivergenceMonitor({ patience: 5, maxGeneratorAdvLoss: 20 });
    b.setState(JSON.parse(JSON.stringify(m.getState())));
    expect(b.check(5, { d: 1.3, g: 1e14 }, 0.7)?.kind).toBe('exploding');
  });
});
