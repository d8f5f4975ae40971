import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Callback, EarlyStopping, initBackend, RunFolder, type StepEvent } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CycleGanConfig, parseCycleGanConfig, resolveConfig } from '../config.js';
import { blueness, TensorSource, tintedImages } from '../test-utils/tensor-source.js';
import { l1Loss } from './losses.js';
import type { CycleGanSampleGrid } from './samples.js';
import { CycleGanTrainer } from './trainer.js';

let dir = '';
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  dir = mkdtempSync(join(tmpdir(), 'cyclegan-trainer-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tiny = (over: Partial<CycleGanConfig> = {}) =>
  resolveConfig(undefined, {
    size: 24,
    loadSize: 28,
    ngf: 4,
    ndf: 4,
    blocks: 1,
    poolSize: 2,
    epochs: 3,
    decayEpochs: 2,
    seed: 5,
    ...over,
  });

describe('CycleGanTrainer', () => {
  it('toy colour transfer: A → B makes red images bluer, and cycles reconstruct better than at step 0', async () => {
    const config = resolveConfig(undefined, {
      size: 32,
      loadSize: 36,
      ngf: 8,
      ndf: 8,
      blocks: 1,
      poolSize: 4,
      lr: 2e-3,
      epochs: 4,
      decayEpochs: 0,
      seed: 1,
    });
    const a = new TensorSource(tintedImages(12, 36, 'red', 1), 1, 1, 'red');
    const b = new TensorSource(tintedImages(12, 36, 'blue', 2), 1, 2, 'blue');
    const test = tintedImages(4, 32, 'red', 3);
    const trainer = new CycleGanTrainer(config);
    const cycleError = () =>
      tf.tidy(
        () =>
          l1Loss(trainer.nets.G_B.predict(trainer.nets.G_A.predict(test)) as tf.Tensor, test).dataSync()[0]!,
      );
    const before = cycleError();
    await trainer.train(a, b);
    const translated = trainer.nets.G_A.predict(test) as tf.Tensor4D;
    const after = cycleError();
    // Red images have blueness ≈ −1; B images ≈ +1.
    expect(blueness(test)).toBeLessThan(-0.8);
    // After 48 steps: ≈ +0.95 and a cycle error of about a third of the initial one.
    expect(blueness(translated)).toBeGreaterThan(0.5);
    expect(after).toBeLessThan(0.5 * before);
    tf.dispose([test, translated]);
    trainer.dispose();
    a.dispose();
    b.dispose();
  });

  it('resume gives the same steps, losses and weights as an uninterrupted run', async () => {
    const config = tiny();
    // Domains of 5 and 3 images: the smaller one wraps around within each epoch.
    const sources = () =>
      [
        new TensorSource(tintedImages(5, 28, 'red', 11), 1, 11, 'a'),
        new TensorSource(tintedImages(3, 28, 'blue', 12), 1, 12, 'b'),
      ] as const;

    const full = await RunFolder.open(join(dir, 'full'), { kind: 'cyclegan', config });
    const [a1, b1] = sources();
    const t1 = new CycleGanTrainer(config);
    const r1 = await t1.train(a1, b1, { run: full });

    const partRun = await RunFolder.open(join(dir, 'part'), { kind: 'cyclegan', config });
    const [a2, b2] = sources();
    const t2 = new CycleGanTrainer(config);
    // Stop mid-epoch 1 (5 steps per epoch), with both pools full and the LR already decaying.
    const stopped = await t2.train(a2, b2, { run: partRun, maxSteps: 7 });
    expect(stopped).toMatchObject({ status: 'stopped', step: 7 });
    t2.dispose();

    const resumedRun = await RunFolder.open(join(dir, 'part'), { kind: 'cyclegan', config, resume: true });
    const t3 = new CycleGanTrainer(config);
    const r3 = await t3.train(a2, b2, { run: resumedRun });
    expect(r3.startStep).toBe(7);
    expect(r3.step).toBe(r1.step);
    expect(r3.step).toBe(15);
    expect(r3.last).toEqual(r1.last);
    for (const name of ['G_A', 'G_B', 'D_A', 'D_B'] as const) {
      const w1 = t1.nets[name].getWeights();
      const w3 = t3.nets[name].getWeights();
      for (const [i, w] of w1.entries())
        expect(Array.from(w.dataSync())).toEqual(Array.from(w3[i]!.dataSync()));
    }
    // metrics.jsonl: the same step records (the resumed run dropped nothing and repeated nothing).
    const steps = async (run: RunFolder<CycleGanConfig>) =>
      (await run.readMetrics()).filter((r) => r.type === 'step').map(({ ms: _, ...r }) => r);
    expect(await steps(resumedRun)).toEqual(await steps(full));
    for (const x of [t1, t3, a1, b1, a2, b2]) x.dispose();
  });

  it('a custom callback that stops after k steps: exactly k steps ran, and the run folder resumes from there', async () => {
    const config = tiny(); // 5 steps per epoch × 3 epochs: step 8 is mid-epoch 1
    const sources = () =>
      [
        new TensorSource(tintedImages(5, 28, 'red', 11), 1, 11, 'a'),
        new TensorSource(tintedImages(3, 28, 'blue', 12), 1, 12, 'b'),
      ] as const;
    const out = join(dir, 'callback-stop');
    const run = await RunFolder.open(out, { kind: 'cyclegan', config });
    const [a1, b1] = sources();
    const t1 = new CycleGanTrainer(config);
    const seen: number[] = [];
    const stopAt8: Callback = {
      afterStep: (loop) => {
        seen.push(loop.step);
        if (loop.step === 8) loop.stop('stopped after 8 steps');
      },
    };
    const first = await t1.train(a1, b1, { run, callbacks: [stopAt8] });
    await run.finish('interrupted');
    expect(first).toMatchObject({ status: 'stopped', step: 8, epoch: 1, reason: 'stopped after 8 steps' });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect((await run.checkpoints.latest())?.step).toBe(8);

    const resumed = await RunFolder.open(out, { kind: 'cyclegan', config, resume: true });
    const [a2, b2] = sources();
    const t2 = new CycleGanTrainer(config);
    const second = await t2.train(a2, b2, { run: resumed });
    await resumed.finish('completed');
    expect(second).toMatchObject({ status: 'completed', step: 15, startStep: 8 });
    const steps = (await resumed.readMetrics()).filter((r) => r.type === 'step').map((r) => r.step);
    expect(steps).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    for (const x of [t1, t2, a1, b1, a2, b2]) x.dispose();
  });

  it("core's EarlyStopping ends the run once the monitored loss stops improving, as completed with its reason", async () => {
    const config = tiny(); // 5 steps per epoch × 3 epochs
    const run = await RunFolder.open(join(dir, 'early-stop'), { kind: 'cyclegan', config });
    const a = new TensorSource(tintedImages(5, 28, 'red', 11), 1, 11, 'a');
    const b = new TensorSource(tintedImages(3, 28, 'blue', 12), 1, 12, 'b');
    const trainer = new CycleGanTrainer(config);
    // A minDelta no epoch can beat: epoch 1 sets the best, epoch 2 is the one epoch of patience.
    const stop = new EarlyStopping({ monitor: 'G', patience: 1, minDelta: 1e9 });
    const result = await trainer.train(a, b, { run, callbacks: [stop] });
    expect(result).toMatchObject({ status: 'completed', step: 10, epoch: 2 });
    expect(result.reason).toMatch(/^G has not improved for 1 epochs \(best .* after epoch 1\)$/);
    expect((await run.readMetrics()).filter((r) => r.type === 'epoch')).toHaveLength(2);
    for (const x of [trainer, a, b]) x.dispose();
  });

  it('lr 1e6: the shared divergence guard stops the run at the exploding step, naming the loss and the learning rate', async () => {
    const config = tiny({ lr: 1e6, epochs: 4, checkpointEvery: 2 });
    const run = await RunFolder.open(join(dir, 'diverge'), { kind: 'cyclegan', config });
    const a = new TensorSource(tintedImages(5, 28, 'red', 11), 1, 11, 'a');
    const b = new TensorSource(tintedImages(3, 28, 'blue', 12), 1, 12, 'b');
    const t = new CycleGanTrainer(config);
    const logged: number[] = [];
    type Diverged = {
      code: string;
      message: string;
      hint: string;
      divergence: { step: number; checkpointStep: number | null };
    };
    const observer = { onStep: (e: StepEvent) => void logged.push(e.step) };
    const err = (await t.train(a, b, { run, observer }).catch((e: unknown) => e)) as Diverged;
    expect(err.code).toBe('DIVERGED');
    expect(err.message).toMatch(/^CycleGAN training diverged: loss \w+ = .* at step \d+/);
    expect(err.hint).toMatch(/resume with a lower --lr/);
    // No step after the diverging one, and it names the checkpoint a resume starts from.
    expect(logged.at(-1)).toBe(err.divergence.step - 1);
    expect(err.divergence.checkpointStep).toBe((await run.checkpoints.latest())?.step ?? null);
    for (const x of [t, a, b]) x.dispose();
  });

  it('leaks no tensors over 50 steps', () => {
    const trainer = new CycleGanTrainer(tiny());
    const a = tintedImages(1, 24, 'red', 21);
    const b = tintedImages(1, 24, 'blue', 22);
    const counts: number[] = [];
    for (let i = 0; i < 50; i++) {
      trainer.trainStep(a, b);
      counts.push(tf.memory().numTensors);
    }
    // After step 2 the pools (2 images each) are full; everything else is allocated at step 1.
    expect(new Set(counts.slice(2)).size).toBe(1);
    trainer.dispose();
    tf.dispose([a, b]);
  });

  it('train() frees everything it allocated, and its networks on dispose', async () => {
    const before = tf.memory().numTensors;
    const trainer = new CycleGanTrainer(tiny({ epochs: 2 }));
    const a = new TensorSource(tintedImages(3, 28, 'red', 31), 1, 1);
    const b = new TensorSource(tintedImages(3, 28, 'blue', 32), 1, 2);
    const grids: string[] = [];
    await trainer.train(a, b, { onSamples: (g) => void grids.push(...g.map((x) => x.name)) });
    expect(grids).toEqual(['a2b2a', 'b2a2b', 'a2b2a', 'b2a2b']);
    trainer.dispose();
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('decays the learning rate linearly over the last epochs and logs every loss term', async () => {
    const config = tiny({ epochs: 3, decayEpochs: 2, lr: 1e-3 });
    const trainer = new CycleGanTrainer(config);
    const a = new TensorSource(tintedImages(2, 28, 'red', 41), 1, 1);
    const b = new TensorSource(tintedImages(2, 28, 'blue', 42), 1, 2);
    const events: StepEvent[] = [];
    await trainer.train(a, b, { observer: { onStep: (e) => void events.push(e) } });
    // n = epochs − decayEpochs = 1 constant epoch; factor(e) = 1 − max(0, e + 1 − 1) / 3.
    const expected = [1, 1, 2 / 3, 2 / 3, 1 / 3, 1 / 3].map((f) => 1e-3 * f);
    expect(events).toHaveLength(expected.length);
    for (const [i, e] of events.entries()) expect(e.metrics!.lr).toBeCloseTo(expected[i]!, 12);
    expect(Object.keys(events[0]!.losses).sort()).toEqual([
      'D_A',
      'D_B',
      'G',
      'G_A',
      'G_B',
      'cycle_A',
      'cycle_B',
      'idt_A',
      'idt_B',
    ]);
    const l = events[0]!.losses;
    expect(l.G).toBeCloseTo(l.G_A! + l.G_B! + l.cycle_A! + l.cycle_B! + l.idt_A! + l.idt_B!, 5);
    trainer.dispose();
    a.dispose();
    b.dispose();
  });

  it('sample grids show each image, its translation and its reconstruction in a row', () => {
    const trainer = new CycleGanTrainer(tiny());
    const a = tintedImages(2, 24, 'red', 51);
    const b = tintedImages(3, 24, 'blue', 52);
    const grids: CycleGanSampleGrid[] = trainer.sampleGrids(
      { a, b, idsA: ['x', 'y'] },
      { step: 0, epoch: 0 },
    );
    expect(grids.map((g) => [g.name, g.rows, g.cols, g.images.shape[0]])).toEqual([
      ['a2b2a', 2, 3, 6],
      ['b2a2b', 3, 3, 9],
    ]);
    expect(grids[0]!.rowLabels).toEqual(['x', 'y']);
    expect(grids[1]!.columns).toEqual(['B', 'B→A', 'B→A→B']);
    tf.tidy(() => {
      const g = grids[0]!.images;
      const a1 = a.slice([1], [1]);
      const fakeB = trainer.nets.G_A.predict(a1) as tf.Tensor4D;
      const rec = trainer.nets.G_B.predict(fakeB) as tf.Tensor4D;
      // Row 1: a[1], G_A(a[1]), G_B(G_A(a[1])).
      expect(Array.from(g.slice([3], [1]).dataSync())).toEqual(Array.from(a1.dataSync()));
      expect(Array.from(g.slice([4], [1]).dataSync())).toEqual(Array.from(fakeB.dataSync()));
      expect(Array.from(g.slice([5], [1]).dataSync())).toEqual(Array.from(rec.dataSync()));
    });
    tf.dispose([a, b, ...grids.map((g) => g.images)]);
    trainer.dispose();
  });

  it('refuses on WASM a configuration whose estimate exceeds the 4 GiB heap, before training', () => {
    const config = resolveConfig('thesis', { size: 512, batchSize: 2 });
    let error: unknown;
    try {
      new CycleGanTrainer(config).dispose();
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'OUT_OF_MEMORY' });
    const message = (error as Error).message;
    expect(message).toMatch(
      /needs about \d+\.\d\d GiB to train \(512×512, ngf 64, ndf 64, 9 blocks, batch 2/,
    );
    expect((error as { hint: string }).hint).toMatch(/--size.*tfjs-node/);
  });
});

describe('a checkpoint of skingan-checkpoint@1 (CycleGAN’s own Adam, before AdamW)', () => {
  it('resumes, and the run ends bit for bit as the old code ended it without interruption', async () => {
    const config = tiny({ ngf: 2, ndf: 2 });
    const out = join(dir, 'v1');
    await fs.cp(join(import.meta.dirname, 'legacy-fixtures', 'run-checkpoint-v1'), out, { recursive: true });
    const old = JSON.parse(await fs.readFile(join(out, 'uninterrupted.json'), 'utf8'));
    // Its config.json predates `upsample`: read with the defaults of newer fields, as the CLI reads it.
    const run = await RunFolder.open(out, {
      kind: 'cyclegan',
      config,
      resume: true,
      parseSaved: parseCycleGanConfig,
    });
    const a = new TensorSource(tintedImages(5, 28, 'red', 11), 1, 11, 'a');
    const b = new TensorSource(tintedImages(3, 28, 'blue', 12), 1, 12, 'b');
    const t = new CycleGanTrainer(config);
    const r = await t.train(a, b, { run });
    expect(r.startStep).toBe(7);
    expect(r.step).toBe(old.step);
    expect(r.last?.losses).toEqual(old.lastLosses);
    const steps = (await run.readMetrics()).filter((x) => x.type === 'step').map(({ ms: _, ...x }) => x);
    expect(steps).toEqual(old.steps);
    for (const x of [t, a, b]) x.dispose();
  });
});
