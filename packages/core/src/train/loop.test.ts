import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import type { EpochEvent, StepEvent } from '../events.js';
import { Rng, type RngState } from '../random.js';
import { CheckpointStore } from '../run/checkpoint-store.js';
import { RunFolder } from '../run/run-folder.js';
import {
  type Callback,
  CancelFitError,
  type EpochSource,
  type LoopContext,
  type TrainModel,
} from './callback.js';
import { CheckpointCallback } from './checkpoints.js';
import { DivergenceCallback } from './divergence.js';
import { EarlyStopping } from './early-stopping.js';
import { TrainingLoop } from './loop.js';
import { metricsLog } from './observe.js';
import { ParamSchedule } from './param-schedule.js';
import { SaveBest } from './save-best.js';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-loop-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

interface Pair {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

/**
 * A tiny model to drive the loop: y = x·w + b fitted with Adam, plus a seeded noise stream added
 * to the targets (JSON state that a resume must restore, as a GAN's noise stream).
 */
class FakeModel implements TrainModel<Pair> {
  readonly net = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [2], units: 1, kernelInitializer: 'ones' })],
  });
  readonly opt: tf.Optimizer;
  readonly noise = new Rng('fake:noise');

  constructor(lr = 0.05) {
    this.opt = tf.train.adam(lr);
  }

  get models() {
    return { net: this.net };
  }
  get optimizers() {
    return { net: this.opt };
  }

  step({ x, y }: Pair) {
    const jitter = this.noise.normal() * 0.01;
    const cost = this.opt.minimize(
      () => tf.losses.meanSquaredError(tf.add(y, jitter), this.net.predict(x) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    const loss = cost.dataSync()[0]!;
    cost.dispose();
    return { losses: { loss }, metrics: { jitter } };
  }

  disposeBatch(b: Pair): void {
    tf.dispose([b.x, b.y]);
  }

  getState() {
    return { noise: this.noise.state };
  }

  setState(s: Record<string, unknown>): void {
    this.noise.state = s.noise as RngState;
  }

  weights(): number[] {
    return this.net.getWeights().flatMap((w) => Array.from(w.dataSync()));
  }

  dispose(): void {
    this.net.dispose();
    this.opt.dispose();
  }
}

/** `steps` batches per epoch of y = 2·x₀ − x₁ + 0.5, the same for the same (epoch, index). */
function source(steps: number, poison?: { epoch: number; index: number }): EpochSource<Pair> {
  return {
    stepsPerEpoch: steps,
    async *epoch(epoch, options) {
      for (let i = options?.skipBatches ?? 0; i < steps; i++) {
        const rng = new Rng(`data:${epoch}:${i}`);
        const xs = Array.from({ length: 8 }, () => [rng.normal(), rng.normal()]);
        const bad = poison?.epoch === epoch && poison.index === i;
        const x = tf.tensor2d(bad ? xs.map(() => [Number.NaN, 0]) : xs);
        const y = tf.tensor2d(xs.map(([a, b]) => [2 * a! - b! + 0.5]));
        yield { x, y };
      }
    },
  };
}

/** A callback that records every event it gets, as "hook epoch/step". */
function recorder(log: string[]): Callback {
  const at = (hook: string, l: LoopContext) => log.push(`${hook} ${l.epoch}/${l.step}`);
  return {
    beforeFit: (l) => void at('beforeFit', l),
    beforeEpoch: (l) => void at('beforeEpoch', l),
    beforeStep: (l) => void at('beforeStep', l),
    afterStep: (l) => void at('afterStep', l),
    afterEpoch: (l) => void at('afterEpoch', l),
    afterFit: (_, r) => void log.push(`afterFit ${r.status} ${r.epoch}/${r.step}`),
    onCheckpoint: (e) => void log.push(`checkpoint ${e.epoch}/${e.step}`),
  };
}

/** Stops the fit cleanly once `k` steps are done. */
const stopAfter = (k: number): Callback => ({
  afterStep: (loop) => {
    if (loop.step >= k) loop.stop(`stopped after ${k} steps`);
  },
});

describe('TrainingLoop', () => {
  it('fires beforeFit, beforeEpoch, beforeStep/afterStep per batch, afterEpoch and afterFit in order', async () => {
    const model = new FakeModel();
    const log: string[] = [];
    const loop = new TrainingLoop(model);
    const store = new CheckpointStore(join(dir, 'ck'));
    const result = await loop.fit(source(2), {
      epochs: 2,
      callbacks: [new CheckpointCallback(store, { everyEpoch: true }), recorder(log)],
    });
    expect(log).toEqual([
      'beforeFit 0/0',
      'beforeEpoch 0/0',
      'beforeStep 0/0',
      'afterStep 0/1',
      'beforeStep 0/1',
      'afterStep 0/2',
      'afterEpoch 0/2',
      // Due at the epoch's end, saved as the next begins (the checkpoint runs last: order 100),
      // as epoch 1: a resume starts there.
      'beforeEpoch 1/2',
      'checkpoint 1/2',
      'beforeStep 1/2',
      'afterStep 1/3',
      'beforeStep 1/3',
      'afterStep 1/4',
      'afterEpoch 1/4',
      'afterFit completed 2/4',
      'checkpoint 2/4',
    ]);
    expect(result).toMatchObject({ status: 'completed', step: 4, epoch: 2, startStep: 0 });
    expect(result.checkpoint?.step).toBe(4);
    expect((await store.list()).map((r) => [r.step, r.epoch])).toEqual([
      [2, 1],
      [4, 2],
    ]);
    model.dispose();
  });

  it('gives step and epoch events the losses, step metrics, scheduled values and epoch means', async () => {
    const model = new FakeModel();
    const steps: StepEvent[] = [];
    const epochs: EpochEvent[] = [];
    const lrs: number[] = [];
    const loop = new TrainingLoop(model);
    await loop.fit(source(3), {
      epochs: 2,
      callbacks: [
        // lr = 0.1 / (1 + step): set before every step, shown with it.
        new ParamSchedule(
          'lr',
          (at) => 0.1 / (1 + at.step),
          (lr) => void lrs.push(lr),
        ),
        // Per parameter group: shown as the last group's.
        new ParamSchedule(
          'groups',
          (at) => [at.step, 2 * at.step],
          () => undefined,
        ),
        { afterStep: (_, e) => void steps.push(e), afterEpoch: (_, e) => void epochs.push(e) },
      ],
    });
    expect(lrs).toEqual([0.1, 0.05, 0.1 / 3, 0.025, 0.02, 0.1 / 6]);
    expect(steps.map((e) => e.metrics!.lr)).toEqual(lrs);
    expect(steps.map((e) => e.metrics!.groups)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(steps.map((e) => [e.epoch, e.stepInEpoch, e.stepsPerEpoch])).toEqual([
      [0, 0, 3],
      [0, 1, 3],
      [0, 2, 3],
      [1, 0, 3],
      [1, 1, 3],
      [1, 2, 3],
    ]);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const lossesOf = (from: number) => steps.slice(from, from + 3).map((e) => e.losses.loss!);
    expect(epochs[0]!.losses.loss).toBeCloseTo(mean(lossesOf(0)), 12);
    expect(epochs[1]!.losses.loss).toBeCloseTo(mean(lossesOf(3)), 12);
    expect(epochs[1]!.metrics!.jitter).toBeCloseTo(mean(steps.slice(3).map((e) => e.metrics!.jitter!)), 12);
    // A scheduled value as it stands at the epoch's end, not averaged.
    expect(epochs[1]!.metrics!.lr).toBe(0.1 / 6);
    model.dispose();
  });

  it("adds the model's validation figures to the epoch event, and advanceTo starts the next fit at a later epoch", async () => {
    const model = new FakeModel();
    let validations = 0;
    const validating: TrainModel<Pair> = {
      step: (b) => model.step(b),
      disposeBatch: (b) => model.disposeBatch(b),
      models: model.models,
      validate: async () => ({ losses: { valLoss: 0.5 }, metrics: { valAccuracy: ++validations / 10 } }),
    };
    const epochs: EpochEvent[] = [];
    const loop = new TrainingLoop(validating);
    const record: Callback = { afterEpoch: (_, e) => void epochs.push(e) };
    await loop.fit(source(2), { epochs: 1, callbacks: [record] });
    expect(Object.keys(epochs[0]!.losses)).toEqual(['loss', 'valLoss']);
    expect(epochs[0]).toMatchObject({ losses: { valLoss: 0.5 }, metrics: { valAccuracy: 0.1 } });
    // A phase that ended early hands over at the next phase's first epoch (3), not at 1.
    loop.advanceTo(3);
    loop.advanceTo(2); // never backwards
    await loop.fit(source(2), { epochs: 4, callbacks: [record] });
    expect(epochs.map((e) => [e.epoch, e.step])).toEqual([
      [0, 2],
      [3, 4],
    ]);
    model.dispose();
  });

  it('loop.stop() ends after that step with a checkpoint; CancelFitError ends at once; both resumable', async () => {
    const model = new FakeModel();
    const loop = new TrainingLoop(model);
    const store = new CheckpointStore(join(dir, 'ck'));
    const checkpoints = new CheckpointCallback(store, { everyEpoch: true });
    const stopped = await loop.fit(source(4), { epochs: 3, callbacks: [checkpoints, stopAfter(5)] });
    expect(stopped).toMatchObject({ status: 'stopped', step: 5, epoch: 1, reason: 'stopped after 5 steps' });
    expect((await store.latest())?.step).toBe(5);

    const cancel: Callback = {
      beforeStep: (l) => {
        if (l.step === 7) throw new CancelFitError('enough');
      },
    };
    const cancelled = await loop.fit(source(4), { epochs: 3, callbacks: [checkpoints, cancel] });
    expect(cancelled).toMatchObject({ status: 'stopped', step: 7, startStep: 5, reason: 'enough' });
    expect((await store.latest())?.step).toBe(7);

    // A signal and maxSteps stop the same way; an error other than CancelFitError ends the fit with it.
    const controller = new AbortController();
    const abort: Callback = { afterStep: (l) => void (l.step === 8 && controller.abort()) };
    const aborted = await loop.fit(source(4), {
      epochs: 3,
      signal: controller.signal,
      callbacks: [checkpoints, abort],
    });
    expect(aborted).toMatchObject({ status: 'stopped', step: 8, epoch: 2 });
    const limited = await loop.fit(source(4), { epochs: 3, maxSteps: 10, callbacks: [checkpoints] });
    expect(limited).toMatchObject({ status: 'stopped', step: 10 });
    const failing: Callback = {
      afterStep: () => {
        throw new Error('callback failed');
      },
    };
    await expect(loop.fit(source(4), { epochs: 3, callbacks: [failing] })).rejects.toThrow('callback failed');
    model.dispose();
  });

  it('a run stopped mid-epoch and resumed from its checkpoint logs the same losses and ends with the same weights', async () => {
    const fit = async (out: string, model: FakeModel, options: { maxSteps?: number; resume?: boolean }) => {
      const run = await RunFolder.open(out, { kind: 'fake', config: {}, resume: options.resume ?? false });
      const loop = new TrainingLoop(model);
      await loop.resumeFrom(run.checkpoints);
      const result = await loop.fit(source(4), {
        epochs: 3,
        ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
        callbacks: [metricsLog(run), new CheckpointCallback(run.checkpoints, { every: 3, everyEpoch: true })],
      });
      await run.finish(result.status === 'completed' ? 'completed' : 'interrupted');
      return { result, run };
    };
    const full = new FakeModel();
    const a = await fit(join(dir, 'full'), full, {});
    expect(a.result).toMatchObject({ status: 'completed', step: 12 });

    const out = join(dir, 'resumed');
    const first = new FakeModel();
    expect((await fit(out, first, { maxSteps: 7 })).result).toMatchObject({ status: 'stopped', step: 7 });
    first.dispose();
    // A kill loses what came after the last periodic checkpoint (step 6): drop the one of step 7.
    await fs.rm(join(out, 'checkpoints', 'step-00000007'), { recursive: true });
    const second = new FakeModel();
    const b = await fit(out, second, { resume: true });
    expect(b.result).toMatchObject({ status: 'completed', step: 12, startStep: 6 });
    expect(b.result.last).toEqual(a.result.last);
    expect(second.weights()).toEqual(full.weights());
    const records = async (run: RunFolder) =>
      (await run.readMetrics()).filter((r) => r.type !== 'checkpoint').map(({ ms: _, ...r }) => r);
    const [ra, rb] = [await records(a.run), await records(b.run)];
    expect(rb.filter((r) => r.type === 'step').map((r) => r.step)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ]);
    expect(rb).toEqual(ra);
    full.dispose();
    second.dispose();
  });

  it('rolls back a NaN step (weights, Adam state, noise stream, counters) and throws DIVERGED at the last good checkpoint', async () => {
    const model = new FakeModel();
    const store = new CheckpointStore(join(dir, 'ck'));
    const loop = new TrainingLoop(model, {
      callbacks: [
        new DivergenceCallback({ what: 'fake training', hint: 'lower the lr', store, rollback: true }),
      ],
    });
    const logged: number[] = [];
    let before: { weights: number[]; noise: RngState; opt: number[] } | undefined;
    const watch: Callback = {
      // Runs after the rollback snapshot (order −20): what the poisoned step starts from.
      beforeStep: async (l) => {
        if (l.step !== 6) return;
        const opt = await model.opt.getWeights();
        before = {
          weights: model.weights(),
          noise: model.noise.state,
          opt: opt.slice(1).flatMap((w) => Array.from(w.tensor.dataSync())),
        };
        tf.dispose(opt[0]!.tensor);
      },
      afterStep: (_, e) => void logged.push(e.step),
    };
    const err = (await loop
      .fit(source(4, { epoch: 1, index: 2 }), {
        epochs: 3,
        callbacks: [new CheckpointCallback(store, { every: 2 }), watch],
      })
      .catch((e: unknown) => e)) as {
      code: string;
      message: string;
      hint: string;
      divergence: { checkpointStep: number };
    };
    expect(err.code).toBe('DIVERGED');
    expect(err.message).toBe(
      'fake training diverged: loss = NaN at step 7. The checkpoint of step 6 holds the weights that produced it: moved to checkpoints/suspect-step-…. The last good checkpoint (step 4) is kept for --resume.',
    );
    expect(err.hint).toBe('lower the lr');
    expect(err.divergence.checkpointStep).toBe(4);
    // The NaN step was not logged, and nothing of it remains in memory.
    expect(logged).toEqual([1, 2, 3, 4, 5, 6]);
    expect(loop.step).toBe(6);
    expect((await store.list()).map((r) => r.step)).toEqual([4]);
    expect(model.weights()).toEqual(before!.weights);
    expect(model.noise.state).toEqual(before!.noise);
    const opt = await model.opt.getWeights();
    expect(opt.slice(1).flatMap((w) => Array.from(w.tensor.dataSync()))).toEqual(before!.opt);
    tf.dispose(opt[0]!.tensor);
    model.dispose();
  });

  it('leaks no tensors with rollback on: the snapshot held before each step is freed after it', async () => {
    const model = new FakeModel();
    const loop = new TrainingLoop(model, {
      callbacks: [new DivergenceCallback({ what: 'fake', hint: '', rollback: true })],
    });
    const counts: number[] = [];
    await loop.fit(source(5), {
      epochs: 4,
      callbacks: [{ afterStep: () => void counts.push(tf.memory().numTensors) }],
    });
    // Adam's moments appear at step 1.
    expect(new Set(counts.slice(1))).toEqual(new Set([counts[1]]));
    model.dispose();
  });

  it('early stopping ends the fit as completed after `patience` epochs without improvement, counting across a resume', async () => {
    // lr 0: the loss never improves on epoch 0's.
    const run = async (maxSteps?: number, resume = false) => {
      const model = new FakeModel(0);
      const loop = new TrainingLoop(model);
      const store = new CheckpointStore(join(dir, 'ck'));
      if (resume) await loop.resumeFrom(store);
      const result = await loop.fit(source(2), {
        epochs: 20,
        ...(maxSteps !== undefined ? { maxSteps } : {}),
        callbacks: [
          new EarlyStopping({ monitor: 'loss', patience: 3, minDelta: 1 }),
          new CheckpointCallback(store, { everyEpoch: true }),
        ],
      });
      model.dispose();
      return result;
    };
    const whole = await run();
    expect(whole).toMatchObject({
      status: 'completed',
      epoch: 4,
      step: 8,
      reason: expect.stringMatching(/^loss has not improved for 3 epochs \(best [\d.]+ after epoch 1\)$/),
    });
    await fs.rm(join(dir, 'ck'), { recursive: true });
    expect(await run(4)).toMatchObject({ status: 'stopped', step: 4 });
    // Two epochs without improvement were counted before the stop: one more is enough.
    expect(await run(undefined, true)).toMatchObject({ status: 'completed', epoch: 4, step: 8 });
  });

  it('save-best calls its save on every new best of the monitored value', async () => {
    const model = new FakeModel(0.2);
    const saved: [number, number][] = [];
    const best = new SaveBest({ monitor: 'loss' }, (l, v) => void saved.push([l.epoch, v]));
    const epochs: EpochEvent[] = [];
    await new TrainingLoop(model).fit(source(2), {
      epochs: 6,
      callbacks: [{ afterEpoch: (_, e) => void epochs.push(e) }, best],
    });
    let low = Number.POSITIVE_INFINITY;
    const expected = epochs.flatMap((e) => {
      const v = e.losses.loss!;
      if (v >= low) return [];
      low = v;
      return [[e.epoch, v] as [number, number]];
    });
    expect(saved).toEqual(expected);
    expect(saved.length).toBeGreaterThan(1);
    expect(best.best).toMatchObject({ best: low, bestEpoch: expected.at(-1)![0] });
    model.dispose();
  });
});
