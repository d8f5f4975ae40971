import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Callback, ISIC2019, initBackend, RunFolder, subLabelSpace } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResNetClassifier, ImageClassifier } from '../classifier.js';
import { memorySource, TINY_RESNET, toyImages } from '../test-utils/memory-source.js';
import { Learner } from './learner.js';
import { fineTunePhases, oneCyclePhase } from './phases.js';

const SIZE = 16;
const labelSpace = subLabelSpace(ISIC2019, ['MEL', 'NV', 'BCC']);
let tmp: string;
let data: ReturnType<typeof toyImages>;
let val: ReturnType<typeof toyImages>;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  tmp = await mkdtemp(join(tmpdir(), 'skingan-learner-'));
  data = toyImages(24, SIZE, 3, 1);
  val = toyImages(12, SIZE, 3, 2);
});

afterAll(async () => {
  tf.dispose([data.images, val.images]);
  await rm(tmp, { recursive: true, force: true });
});

const classifier = (seed = 0) =>
  createResNetClassifier(TINY_RESNET, { labelSpace, inputSize: SIZE, seed, headDropout: 0.25 });
const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('Learner', () => {
  it.each([
    ['features computed once', false],
    ['backbone run per batch (augmentation)', true],
  ])(
    'a frozen phase (%s) leaves every backbone weight bit-identical, BatchNorm statistics included, and trains the head',
    async (_name, augmented) => {
      const c = classifier();
      const learner = new Learner(c, {
        train: memorySource(data.images, data.labels, 8, 1),
        augmented,
        seed: 1,
      });
      const backboneBefore = weightsOf(c.backbone);
      const headBefore = weightsOf(c.head);
      await learner.fit([oneCyclePhase(2, 1e-2, { frozen: true })]);
      expect(weightsOf(c.backbone)).toEqual(backboneBefore);
      expect(weightsOf(c.head)).not.toEqual(headBefore);
      // Unfrozen, the backbone (and its BatchNorm statistics) moves.
      await learner.fit([oneCyclePhase(1, 1e-2)]);
      expect(weightsOf(c.backbone)).not.toEqual(backboneBefore);
      learner.dispose();
      c.dispose();
    },
  );

  it('keeps the tensor count flat across steps', () => {
    const c = classifier();
    const learner = new Learner(c, { train: memorySource(data.images, data.labels, 8) });
    const x = data.images.slice(0, 8);
    const y = tf.tensor1d(data.labels.slice(0, 8), 'int32');
    const lr = [1e-3, 1e-3, 1e-3];
    learner.step({ images: x, labels: y }, false, lr, 0.9); // creates the optimizer's state
    const n = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) learner.step({ images: x, labels: y }, false, lr, 0.9);
    learner.step({ images: x, labels: y }, true, lr, 0.9);
    expect(tf.memory().numTensors).toBe(n);
    tf.dispose([x, y]);
    learner.dispose();
    c.dispose();
  });

  it('learns the toy problem and keeps the best epoch by validation balanced accuracy', async () => {
    const c = classifier(3);
    const learner = new Learner(c, {
      train: memorySource(data.images, data.labels, 8, 2),
      val: memorySource(val.images, val.labels, 6),
      seed: 2,
      wd: 0,
    });
    const result = await learner.fit([oneCyclePhase(6, 2e-2)]);
    expect(result.history).toHaveLength(6);
    const bestBa = Math.max(...result.history.map((h) => h.valBalancedAccuracy!));
    expect(result.best!.valBalancedAccuracy).toBe(bestBa);
    expect(bestBa).toBeGreaterThan(0.9);
    // The classifier holds the best epoch's weights: validating again reproduces its numbers.
    const again = await learner.validate();
    expect(again.report.balancedAccuracy).toBe(result.best!.valBalancedAccuracy);
    expect(again.loss).toBeCloseTo(result.best!.valLoss!, 5);
    learner.dispose();
    c.dispose();
  });

  it('stops a phase early after `patience` epochs without a better balanced accuracy, not counting the warm-up', async () => {
    const c = classifier(4);
    // A learning rate of ~0 never improves on the first epoch.
    const learner = new Learner(c, {
      train: memorySource(data.images, data.labels, 12),
      val: memorySource(val.images, val.labels, 12),
      patience: 2,
    });
    const r = await learner.fit([oneCyclePhase(10, 1e-12)]);
    expect(r.stoppedEarly).toBe(true);
    // Epochs 1–3 warm up (pctStart 0.25 of 10, rounded up) and do not count; then 2 without a gain.
    expect(r.history).toHaveLength(5);
    expect(r.best!.epoch).toBe(0);
    learner.dispose();
    c.dispose();
  });

  it("early stopping counts each phase's epochs after its warm-up, against the best epoch of every phase so far", async () => {
    const c = classifier(4);
    const lines: string[] = [];
    // Frozen and a learning rate of ~0: no epoch improves on the first.
    const learner = new Learner(c, {
      train: memorySource(data.images, data.labels, 8),
      val: memorySource(val.images, val.labels, 12),
      patience: 1,
      log: (l) => lines.push(l),
    });
    const frozen = { frozen: true };
    const r = await learner.fit([oneCyclePhase(4, 1e-12, frozen), oneCyclePhase(4, 1e-12, frozen)]);
    // Phase 1 (epochs 0–3, warm-up epoch 0): epoch 1 is one without a gain, stop. Phase 2 (epochs
    // 4–7, warm-up epoch 4): epoch 4 is no better than epoch 0 but warms up, epoch 5 stops it.
    expect(r.history.map((h) => [h.epoch, h.phase])).toEqual([
      [0, 0],
      [1, 0],
      [4, 1],
      [5, 1],
    ]);
    expect(r).toMatchObject({ status: 'completed', epochs: 4, stoppedEarly: true, best: { epoch: 0 } });
    expect(lines.filter((l) => l.includes('no better'))).toEqual([
      'phase 1: no better validation balanced accuracy for 1 epochs, stopping it',
      'phase 2: no better validation balanced accuracy for 1 epochs, stopping it',
    ]);
    learner.dispose();
    c.dispose();
  });

  it('stops at once on the abort signal, writes no final model, and resumes from the last epoch checkpoint', async () => {
    const c = classifier(7);
    const run = await RunFolder.open(join(tmp, 'abort'), { kind: 'classifier', config: {} });
    const controller = new AbortController();
    const learner = new Learner(c, {
      train: memorySource(data.images, data.labels, 8),
      run,
      signal: controller.signal,
      // Abort in the middle of the second epoch (3 steps per epoch).
      observer: {
        onStep: (e) => {
          if (e.step === 5) controller.abort();
        },
      },
    });
    const r = await learner.fit([oneCyclePhase(3, 1e-2)]);
    expect(r).toMatchObject({ status: 'stopped', epochs: 1, step: 5 });
    expect(await readdir(run.dir)).not.toContain('model');
    expect((await run.checkpoints.latest())?.epoch).toBe(0);
    learner.dispose();
    c.dispose();
  });

  it('a custom callback that stops after k steps: exactly k steps ran, and the run folder resumes from there', async () => {
    const phases = [oneCyclePhase(3, 1e-2)]; // 3 steps per epoch: step 4 is in epoch 1
    const make = async (name: string, resume: boolean, callbacks: Callback[] = []) => {
      const run = await RunFolder.open(join(tmp, name), { kind: 'classifier', config: {}, resume });
      const c = classifier(8);
      const l = new Learner(c, {
        train: memorySource(data.images, data.labels, 8, 6),
        val: memorySource(val.images, val.labels, 12),
        seed: 6,
        run,
        callbacks,
      });
      const r = await l.fit(phases, { resume });
      await run.finish(r.status === 'completed' ? 'completed' : 'interrupted');
      l.dispose();
      return { r, run, c };
    };
    const full = await make('k-full', false);
    const seen: number[] = [];
    const stopAt4: Callback = {
      afterStep: (loop) => {
        seen.push(loop.step);
        if (loop.step === 4) loop.stop('stopped after 4 steps');
      },
    };
    const first = await make('k-stop', false, [stopAt4]);
    expect(first.r).toMatchObject({ status: 'stopped', step: 4, epochs: 1, reason: 'stopped after 4 steps' });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(await readdir(first.run.dir)).not.toContain('model');
    // The epoch in progress is dropped: the resume starts at the checkpoint of epoch 1's end.
    expect((await first.run.checkpoints.latest())?.step).toBe(3);
    const second = await make('k-stop', true);
    expect(second.r).toMatchObject({ status: 'completed', step: 9, startStep: 3, epochs: 3 });
    const steps = (await second.run.readMetrics()).filter((m) => m.type === 'step');
    expect(steps.map((m) => m.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(steps.map((m) => m.loss)).toEqual(
      (await full.run.readMetrics()).filter((m) => m.type === 'step').map((m) => m.loss),
    );
    expect(weightsOf(second.c.head)).toEqual(weightsOf(full.c.head));
    for (const x of [full.c, first.c, second.c]) x.dispose();
  });

  it('LR finder restores the weights and optimizer state it started from', async () => {
    const c = classifier(5);
    const learner = new Learner(c, { train: memorySource(data.images, data.labels, 8, 3), seed: 3 });
    const before = [...weightsOf(c.backbone), ...weightsOf(c.head)];
    await learner.optimizer.getWeights(); // creates the header it keeps
    const n = tf.memory().numTensors;
    const r = await learner.lrFind({ numIt: 12, endLr: 100 });
    expect(r.lrs.length).toBeGreaterThan(5);
    expect([...weightsOf(c.backbone), ...weightsOf(c.head)]).toEqual(before);
    expect((await learner.optimizer.getWeights()).map((w) => w.name)).toEqual(['adamw@1']);
    expect(learner.optimizer.iterations).toBe(0);
    expect(tf.memory().numTensors).toBe(n);
    learner.dispose();
    c.dispose();
  });

  it('checkpoints every epoch and a resumed run ends with the same weights as an uninterrupted one', async () => {
    const phases = fineTunePhases(2, { freezeEpochs: 1, baseLr: 1e-2 });
    const train = () => memorySource(data.images, data.labels, 8, 4);
    const valSrc = () => memorySource(val.images, val.labels, 12);

    const full = classifier(6);
    const runA = await RunFolder.open(join(tmp, 'a'), { kind: 'classifier', config: { x: 1 } });
    const la = new Learner(full, {
      train: train(),
      val: valSrc(),
      seed: 5,
      run: runA, // the learner writes metrics.jsonl itself
    });
    const ra = await la.fit(phases);
    expect(ra.epochs).toBe(3);
    expect(await readdir(join(runA.dir, 'model'))).toEqual(
      expect.arrayContaining(['backbone', 'head', 'classifier.json']),
    );
    const epochLines = (await runA.readMetrics()).filter((m) => m.type === 'epoch');
    expect(epochLines.map((m) => m.epoch)).toEqual([0, 1, 2]);
    expect(epochLines[0]).toHaveProperty('valBalancedAccuracy');

    // Interrupted after the second epoch's checkpoint (the first unfrozen one)...
    const partial = classifier(6);
    const runB = await RunFolder.open(join(tmp, 'b'), { kind: 'classifier', config: { x: 1 } });
    const stop = new Error('killed');
    const lb = new Learner(partial, {
      train: train(),
      val: valSrc(),
      seed: 5,
      run: runB,
      observer: {
        onCheckpoint: (e) => {
          if (e.epoch === 1) throw stop;
        },
      },
    });
    await expect(lb.fit(phases)).rejects.toBe(stop);
    lb.dispose();
    partial.dispose();

    // ...then resumed in a fresh process-like state: new model and learner from the same seed.
    const resumed = classifier(6);
    const runB2 = await RunFolder.open(join(tmp, 'b'), {
      kind: 'classifier',
      config: { x: 1 },
      resume: true,
    });
    const lc = new Learner(resumed, { train: train(), val: valSrc(), seed: 5, run: runB2 });
    const rc = await lc.fit(phases, { resume: true });
    expect(rc.epochs).toBe(3);
    expect(rc.history.map((h) => h.epoch)).toEqual([0, 1, 2]);
    expect(weightsOf(resumed.backbone)).toEqual(weightsOf(full.backbone));
    expect(weightsOf(resumed.head)).toEqual(weightsOf(full.head));

    // The saved model reloads with the same predictions.
    const loaded = await ImageClassifier.load(runB2.dir);
    const p1 = resumed.predictProba(val.images);
    const p2 = loaded.predictProba(val.images);
    expect(Array.from(p2.dataSync())).toEqual(Array.from(p1.dataSync()));
    tf.dispose([p1, p2]);
    for (const x of [la, lc]) x.dispose();
    for (const x of [full, resumed, loaded]) x.dispose();
  });

  it('resume of a finished run trains nothing and keeps model/ (the best epoch, not the last checkpoint) byte for byte', async () => {
    const fit = async (resume: boolean) => {
      const c = classifier(8);
      const run = await RunFolder.open(join(tmp, 'done'), { kind: 'classifier', config: {}, resume });
      const l = new Learner(c, {
        train: memorySource(data.images, data.labels, 8, 2),
        val: memorySource(val.images, val.labels, 6),
        seed: 2,
        wd: 0,
        patience: 1,
        run,
      });
      const r = await l.fit([oneCyclePhase(10, 2e-2)], { resume });
      l.dispose();
      return { c, r, run };
    };
    const first = await fit(false);
    // Early stopping makes the last checkpoint one epoch past the best.
    expect(first.r.best!.epoch).toBe(first.r.history.length - 2);
    const modelDir = join(first.run.dir, 'model');
    const files = await listFiles(modelDir);
    const before = await checksums(files);
    const second = await fit(true);
    expect(second.r.best).toEqual(first.r.best);
    expect(second.r.epochs).toBe(first.r.epochs);
    expect(await checksums(files)).toEqual(before);
    // The classifier ends with model/'s weights too.
    expect(weightsOf(second.c.head)).toEqual(weightsOf(first.c.head));
    expect(weightsOf(second.c.backbone)).toEqual(weightsOf(first.c.backbone));
    first.c.dispose();
    second.c.dispose();
  });

  it("killed after a best epoch's checkpoint, before best/ was written: the resume takes the best weights from that checkpoint and ends as an uninterrupted run", async () => {
    const make = (name: string, observer?: Learner['options']['observer']) =>
      RunFolder.open(join(tmp, name), { kind: 'classifier', config: {} }).then((run) => {
        const c = classifier(9);
        const l = new Learner(c, {
          train: memorySource(data.images, data.labels, 8),
          val: memorySource(val.images, val.labels, 12),
          run,
          observer,
        });
        return { c, l, run };
      });
    const full = await make('best-ref');
    const ref = await full.l.fit([oneCyclePhase(3, 1e-2)]);
    const stop = new Error('killed');
    const killed = await make('best-killed', {
      onCheckpoint: (e) => {
        if (e.epoch === 0) throw stop;
      },
    });
    await expect(killed.l.fit([oneCyclePhase(3, 1e-2)])).rejects.toBe(stop);
    // Epoch 1 is always the best so far; its checkpoint is saved, best/ not yet.
    await rm(join(killed.run.dir, 'best'), { recursive: true });
    const c2 = classifier(9);
    const l2 = new Learner(c2, {
      train: memorySource(data.images, data.labels, 8),
      val: memorySource(val.images, val.labels, 12),
      run: killed.run,
    });
    const resumed = await l2.fit([oneCyclePhase(3, 1e-2)], { resume: true });
    expect({ ...resumed.best, ms: 0 }).toEqual({ ...ref.best, ms: 0 });
    expect(weightsOf(c2.backbone)).toEqual(weightsOf(full.c.backbone));
    expect(weightsOf(c2.head)).toEqual(weightsOf(full.c.head));
    for (const x of [full.l, killed.l, l2]) x.dispose();
    for (const x of [full.c, killed.c, c2]) x.dispose();
  });

  it('resume with a damaged best/, or one of another epoch than the checkpoint names, fails loudly (BAD_CHECKPOINT naming best/) instead of ending with other weights', async () => {
    const c = classifier(9);
    const run = await RunFolder.open(join(tmp, 'damaged'), { kind: 'classifier', config: {} });
    const stop = new Error('killed');
    // Stopped at the checkpoint of the first epoch that is not the best: best/ is then what the
    // resume reads (a best epoch's own checkpoint holds the best weights itself).
    let bestScore = -1;
    let stoppedAt = -1;
    const l = new Learner(c, {
      train: memorySource(data.images, data.labels, 8),
      val: memorySource(val.images, val.labels, 12),
      run,
      observer: {
        onEpoch: (e) => {
          const score = e.metrics?.valBalancedAccuracy ?? 0;
          if (score <= bestScore && stoppedAt < 0) stoppedAt = e.epoch;
          bestScore = Math.max(bestScore, score);
        },
        onCheckpoint: (e) => {
          if (e.epoch === stoppedAt) throw stop;
        },
      },
    });
    await expect(l.fit([oneCyclePhase(8, 5e-2)])).rejects.toBe(stop);
    l.dispose();
    const c2 = classifier(9);
    const l2 = new Learner(c2, {
      train: memorySource(data.images, data.labels, 8),
      val: memorySource(val.images, val.labels, 12),
      run,
    });
    const marker = join(run.dir, 'best', 'best-epoch.json');
    const bestEpoch = (JSON.parse(await readFile(marker, 'utf8')) as { epoch: number }).epoch;
    expect(bestEpoch).toBeLessThan(stoppedAt);
    const named = `epoch ${bestEpoch + 1}`;
    await writeFile(marker, JSON.stringify({ epoch: stoppedAt }));
    await expect(l2.fit([oneCyclePhase(8, 5e-2)], { resume: true })).rejects.toThrow(
      `best/ holds epoch ${stoppedAt + 1}'s weights, but the checkpoint resumed from names ${named} as the best`,
    );
    await writeFile(marker, JSON.stringify({ epoch: bestEpoch }));
    await writeFile(join(run.dir, 'best', 'classifier.json'), '{"truncat');
    const err = await l2.fit([oneCyclePhase(8, 5e-2)], { resume: true }).catch((e) => e);
    expect(err.code).toBe('BAD_CHECKPOINT');
    expect(err.message).toContain(`${join(run.dir, 'best')}: the best model (${named}) cannot be read`);
    // best/ missing altogether: also an error, not a silent fallback.
    await rm(join(run.dir, 'best'), { recursive: true });
    await expect(l2.fit([oneCyclePhase(8, 5e-2)], { resume: true })).rejects.toThrow(
      `the best model (${named}) is missing: neither best/ nor model/ is in the run`,
    );
    l2.dispose();
    for (const x of [c, c2]) x.dispose();
  });

  it('lr 1e6: the divergence guard stops at the step whose loss explodes, naming it, the loss and the learning rate', async () => {
    const c = classifier(10);
    const run = await RunFolder.open(join(tmp, 'diverge'), { kind: 'classifier', config: {} });
    const steps: number[] = [];
    const l = new Learner(c, {
      train: memorySource(data.images, data.labels, 8),
      run,
      observer: { onStep: (e) => void steps.push(e.losses.loss!) },
    });
    const err = await l.fit([oneCyclePhase(3, 1e6)]).catch((e) => e);
    expect(err.code).toBe('DIVERGED');
    const d = err.divergence;
    expect(d.step).toBe(steps.length + 1);
    expect(d.step).toBeGreaterThan(1);
    expect(err.message).toContain(`classifier training diverged: loss = `);
    expect(err.message).toContain(`at step ${d.step}`);
    expect(err.hint).toContain('lower --lr');
    // The last good checkpoint is the last epoch's end before the divergence (or none).
    const latest = await run.checkpoints.latest();
    expect(d.checkpointStep).toBe(latest?.step ?? null);
    expect(steps.every((x) => Number.isFinite(x) && x < 1e3)).toBe(true);
    l.dispose();
    c.dispose();
  });
});

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

async function checksums(files: string[]): Promise<string[]> {
  return Promise.all(
    files.map(async (f) =>
      createHash('sha256')
        .update(await readFile(f))
        .digest('hex'),
    ),
  );
}

describe('a checkpoint of skingan-checkpoint@1 (FastaiAdam state, before AdamW)', () => {
  it('resumes (moments of the head only, the backbone still frozen), and the run ends bit for bit as the old code ended it without interruption', async () => {
    const out = join(tmp, 'v1');
    await cp(join(import.meta.dirname, 'legacy-fixtures', 'run-checkpoint-v1'), out, { recursive: true });
    const old = JSON.parse(await readFile(join(out, 'uninterrupted.json'), 'utf8'));
    const c = classifier(6);
    const run = await RunFolder.open(out, { kind: 'classifier', config: { x: 1 }, resume: true });
    const learner = new Learner(c, {
      train: memorySource(data.images, data.labels, 8, 4),
      val: memorySource(val.images, val.labels, 12),
      seed: 5,
      run,
    });
    const r = await learner.fit(fineTunePhases(2, { freezeEpochs: 1, baseLr: 1e-2 }), { resume: true });
    expect(r.epochs).toBe(old.epochs);
    const hash = createHash('sha256');
    for (const w of [...c.backbone.getWeights(), ...c.head.getWeights()]) {
      hash.update(new Uint8Array(w.dataSync().buffer));
    }
    expect(hash.digest('hex')).toBe(old.weightsSha256);
    learner.dispose();
    c.dispose();
  });
});
