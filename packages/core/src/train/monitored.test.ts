import { describe, expect, it } from 'vitest';
import type { EpochEvent } from '../events.js';
import type { LoopContext } from './callback.js';
import { EarlyStopping } from './early-stopping.js';
import { Monitored } from './monitored.js';
import { SaveBest } from './save-best.js';

const epoch = (e: number, acc: number): EpochEvent => ({
  kind: 'epoch',
  epoch: e,
  epochs: 10,
  step: e + 1,
  losses: { loss: 1 },
  metrics: { acc },
  elapsedMs: 0,
});

/** The stops a callback asks for, by epoch. */
function fakeLoop() {
  const stops: { reason: string | undefined; status: string | undefined }[] = [];
  const loop = { stop: (reason?: string, status?: string) => void stops.push({ reason, status }) };
  return { loop: loop as unknown as LoopContext, stops };
}

describe('Monitored', () => {
  it('with warmupEnd, epochs before it that do not improve leave wait alone; a new best there still counts', () => {
    const m = new Monitored({ monitor: 'acc', mode: 'max', warmupEnd: 3 });
    const values = [0.5, 0.4, 0.6, 0.3, 0.6, 0.5, 0.7, 0.1];
    const states = values.map((v, e) => {
      m.judge(epoch(e, v));
      return { ...m.state };
    });
    expect(states).toEqual([
      { best: 0.5, bestEpoch: 0, wait: 0 },
      { best: 0.5, bestEpoch: 0, wait: 0 }, // warm-up: not counted
      { best: 0.6, bestEpoch: 2, wait: 0 }, // a new best in the warm-up
      { best: 0.6, bestEpoch: 2, wait: 1 }, // epoch 3 = warmupEnd: counted
      { best: 0.6, bestEpoch: 2, wait: 2 }, // equal is not better
      { best: 0.6, bestEpoch: 2, wait: 3 },
      { best: 0.7, bestEpoch: 6, wait: 0 },
      { best: 0.7, bestEpoch: 6, wait: 1 },
    ]);
  });

  it('without warmupEnd, every epoch that does not improve counts', () => {
    const m = new Monitored({ monitor: 'acc', mode: 'max' });
    for (const [e, v] of [0.5, 0.4, 0.3].entries()) m.judge(epoch(e, v));
    expect(m.state).toEqual({ best: 0.5, bestEpoch: 0, wait: 2 });
  });
});

describe('EarlyStopping with a warm-up', () => {
  it('patience 2, warm-up to epoch 3, never better than epoch 0: stops after epoch 4 (5 epochs), where no warm-up stops after epoch 2', () => {
    const run = (warmupEnd?: number) => {
      const { loop, stops } = fakeLoop();
      const early = new EarlyStopping({
        monitor: 'acc',
        mode: 'max',
        patience: 2,
        ...(warmupEnd !== undefined ? { warmupEnd } : {}),
      });
      let e = 0;
      for (; e < 10 && !early.stopped; e++) early.afterEpoch(loop, epoch(e, e === 0 ? 0.5 : 0.4));
      return { epochs: e, stops, state: early.getState() };
    };
    expect(run(3)).toEqual({
      epochs: 5,
      stops: [{ reason: 'acc has not improved for 2 epochs (best 0.5 after epoch 1)', status: 'completed' }],
      state: { best: 0.5, bestEpoch: 0, wait: 2 },
    });
    expect(run().epochs).toBe(3);
  });

  it('takes its reason from the option, and with stateKey null leaves its state to its owner', () => {
    const { loop, stops } = fakeLoop();
    const early = new EarlyStopping({
      monitor: 'acc',
      mode: 'max',
      patience: 1,
      stateKey: null,
      reason: (s) => `no gain on ${s.best} for ${s.wait} epoch`,
    });
    expect(early.stateKey).toBeUndefined();
    expect(new EarlyStopping({ monitor: 'acc', patience: 1 }).stateKey).toBe('earlyStopping');
    expect(new SaveBest({ monitor: 'acc', stateKey: null }, () => {}).stateKey).toBeUndefined();
    // Set by its owner: the best of an earlier phase; the next epoch below it is the one too many.
    early.setState({ best: 0.9, bestEpoch: 2, wait: 0 });
    early.afterEpoch(loop, epoch(5, 0.8));
    expect(stops).toEqual([{ reason: 'no gain on 0.9 for 1 epoch', status: 'completed' }]);
    expect(early.stopped).toBe(true);
  });
});
