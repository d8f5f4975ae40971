import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Callback, EarlyStopping, initBackend, isSkinganError, loadModel } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourDataset, memorySource, TOY_COLOURS } from '../test-utils/memory-source.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { trainAcgan } from './train-acgan.js';
import { AcganTrainer, type SampleGrid } from './trainer.js';

const tmp = mkdtempSync(join(tmpdir(), 'acgan-trainer-'));
let data: { images: tf.Tensor4D; labels: number[] };

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  data = colourDataset(TOY_COLOURS, 8, 16, 1); // 32 images: 4 steps per epoch at batch 8
});
afterAll(() => {
  data.images.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

const source = (poison?: number) =>
  memorySource(data.images, data.labels, {
    batchSize: 8,
    seed: 3,
    ...(poison === undefined ? {} : { poison }),
  });

async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  return (await fs.readFile(path, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Every generator-quality option on at once. */
const allOn = (overrides: Parameters<typeof tinyConfig>[0] = {}) =>
  tinyConfig({
    ...overrides,
    generator: { upsample: 'nearest-conv', kernelSize: 3 },
    discriminator: { spectralNorm: true, projection: true },
    training: {
      emaDecay: 0.9,
      adversarialLoss: 'hinge',
      diffAugment: ['translation'],
      modeSeeking: 1,
      ...overrides.training,
    },
  });

describe('AcganTrainer', () => {
  it('leaks no tensors over 50 steps, and hands over one fixed-noise grid per epoch', async () => {
    const config = tinyConfig({ epochs: 13, training: { diffAugment: ['color', 'translation', 'cutout'] } });
    const counts: number[] = [];
    const grids: Pick<SampleGrid, 'epoch' | 'rows' | 'cols' | 'labels'>[] = [];
    const trainer = await AcganTrainer.create({
      config,
      maxSteps: 50,
      observer: { onStep: () => void counts.push(tf.memory().numTensors) },
      onSamples: (g) => {
        expect(g.images.shape).toEqual([8, 16, 16, 3]);
        grids.push({ epoch: g.epoch, rows: g.rows, cols: g.cols, labels: g.labels });
      },
    });
    const result = await trainer.train(source());
    expect(result).toMatchObject({ status: 'stopped', step: 50 });
    expect(counts).toHaveLength(50);
    // Adam's moments appear at step 1 and the fixed noise at the first grid (after step 4).
    expect(new Set(counts.slice(5))).toEqual(new Set([counts[5]]));
    expect(grids.map((g) => g.epoch)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(grids[0]).toMatchObject({ rows: 4, cols: 2, labels: [0, 0, 1, 1, 2, 2, 3, 3] });
    // Fixed noise: the same weights draw the same grid.
    const a = trainer.sampleGrid();
    const b = trainer.sampleGrid();
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a.images, b.images))).dataSync()[0])).toBe(0);
    tf.dispose([a.images, b.images]);
    const before = tf.memory().numTensors;
    trainer.dispose();
    expect(tf.memory().numTensors).toBeLessThan(before);
  });

  it('a run killed mid-way and resumed ends like an uninterrupted one (same steps, losses within 1e-4)', async () => {
    // 4 steps per epoch, checkpoints every 6: step 18 is mid-epoch, and late enough that a float32
    // β-power product restored with pow would differ (AdamW's come from the integer step count).
    const config = tinyConfig({
      epochs: 6,
      training: { checkpointEvery: 6, diffAugment: ['color', 'translation', 'cutout'] },
    });
    const full = await trainAcgan({ config, out: join(tmp, 'full'), source: source() });
    expect(full.status).toBe('completed');
    expect(full.step).toBe(24);

    const out = join(tmp, 'resumed');
    const first = await trainAcgan({ config, out, source: source(), maxSteps: 21 });
    expect(first).toMatchObject({ status: 'stopped', step: 21 });
    expect(JSON.parse(await fs.readFile(join(out, 'run.json'), 'utf8')).status).toBe('interrupted');
    // A kill loses the work since the last periodic checkpoint (step 18): drop the one saved at 21.
    await fs.rm(join(out, 'checkpoints', 'step-00000021'), { recursive: true });
    const second = await trainAcgan({ config, out, source: source(), resume: true });
    expect(second.status).toBe('completed');
    expect(second.step).toBe(full.step);
    for (const [k, v] of Object.entries(full.last!.losses)) {
      expect(Math.abs(second.last!.losses[k]! - v), k).toBeLessThan(1e-4);
    }
    // Every step is logged once; on the same backend in the same process the losses are equal to
    // float rounding at every step, not just close (GAN training amplifies any difference).
    const stepsOf = async (dir: string) =>
      (await readJsonl(join(dir, 'metrics.jsonl'))).filter((r) => r.type === 'step');
    const [a, b] = [await stepsOf(join(tmp, 'full')), await stepsOf(out)];
    expect(b.map((r) => r.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    for (const [i, r] of b.entries()) {
      for (const k of ['d', 'g']) {
        expect(Math.abs((r[k] as number) - (a[i]![k] as number)), `step ${r.step} ${k}`).toBeLessThan(1e-6);
      }
    }
    // And the final weights are bit for bit the same.
    const [ga, gb] = [
      await loadModel(join(tmp, 'full', 'model', 'generator')),
      await loadModel(join(out, 'model', 'generator')),
    ];
    const wb = gb.getWeights();
    for (const [i, w] of ga.getWeights().entries()) {
      expect(
        tf.tidy(() => tf.max(tf.abs(tf.sub(w, wb[i]!))).dataSync()[0]),
        ga.weights[i]!.name,
      ).toBe(0);
    }
    ga.dispose();
    gb.dispose();
    const run = JSON.parse(await fs.readFile(join(out, 'run.json'), 'utf8'));
    expect(run.status).toBe('completed');
    expect(run.attempts.map((x: { fromStep: number }) => x.fromStep)).toEqual([0, 18]);
    expect(run.params.generator.trainable).toBeGreaterThan(0);
  });

  it('logs losses and accuracies per step and per epoch, and saves the final generator', async () => {
    const out = join(tmp, 'full');
    const records = await readJsonl(join(out, 'metrics.jsonl'));
    const step = records.find((r) => r.type === 'step')!;
    for (const k of ['d', 'g', 'dAdvReal', 'dAdvFake', 'dAuxReal', 'dAuxFake', 'gAdv', 'gAux']) {
      expect(Number.isFinite(step[k]), k).toBe(true);
    }
    for (const k of ['dAccReal', 'dAccFake', 'auxAccReal', 'auxAccFake']) {
      expect(step[k] as number).toBeGreaterThanOrEqual(0);
      expect(step[k] as number).toBeLessThanOrEqual(1);
    }
    expect(records.filter((r) => r.type === 'epoch').map((r) => r.epoch)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(records.filter((r) => r.type === 'checkpoint').map((r) => r.step)).toEqual([6, 12, 18, 24]);
    const g = await loadModel(join(out, 'model', 'generator'));
    expect(g.outputs[0]!.shape).toEqual([null, 16, 16, 3]);
    g.dispose();
  });

  it('stops on a NaN loss with DIVERGED at the last good checkpoint (finite weights), naming step and loss', async () => {
    const out = join(tmp, 'nan');
    const config = tinyConfig({ epochs: 3 });
    let err: unknown;
    try {
      await trainAcgan({ config, out, source: source(5) }); // batch 5 (step 6) is NaN
    } catch (e) {
      err = e;
    }
    expect(isSkinganError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('DIVERGED');
    expect((err as Error).message).toMatch(/loss d = NaN.* at step 6/);
    // Checkpoints every 4 steps: step 4 is the last one before the weights of step 5.
    expect((err as Error).message).toMatch(/last good checkpoint \(step 4\) is kept/);
    expect((err as { divergence: { checkpointStep: number } }).divergence.checkpointStep).toBe(4);
    const g = await loadModel(join(out, 'checkpoints', 'step-00000004', 'generator'));
    const d = await loadModel(join(out, 'checkpoints', 'step-00000004', 'discriminator'));
    for (const w of [...g.getWeights(), ...d.getWeights()]) {
      expect(tf.tidy(() => tf.all(tf.isFinite(w)).dataSync()[0])).toBe(1);
    }
    g.dispose();
    d.dispose();
    const run = JSON.parse(await fs.readFile(join(out, 'run.json'), 'utf8'));
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/diverged/);
    const steps = (await readJsonl(join(out, 'metrics.jsonl'))).filter((r) => r.type === 'step');
    expect(steps.map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
  });

  it('stops when D rejects every fake for `divergencePatience` steps, saving the state it reached', async () => {
    const out = join(tmp, 'stuck');
    // Any G loss counts as "D wins" with this threshold: the run must stop after 3 steps.
    const config = tinyConfig({ training: { divergencePatience: 3, maxGeneratorAdvLoss: 1e-6 } });
    const err = await trainAcgan({ config, out, source: source() }).catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('DIVERGED');
    expect((err as Error).message).toMatch(/rejected every generated image with certainty for 3 steps/);
    expect((err as Error).message).toMatch(/last good checkpoint \(step 3\) is kept/);
    expect((err as { hint: string }).hint).toMatch(/--diffaugment/);
    expect(await fs.readdir(join(out, 'checkpoints'))).toContain('step-00000003');
  });

  it('learningRateG 1e6: stops as diverged at the exploding step, records it, and a resume must lower the rate', async () => {
    const out = join(tmp, 'lr');
    const config = tinyConfig({
      epochs: 3,
      training: { learningRateG: 1e6, learningRateD: 1e6, checkpointEvery: 2 },
    });
    const err = (await trainAcgan({ config, out, source: source() }).catch((e: unknown) => e)) as {
      code: string;
      message: string;
      hint: string;
      divergence: { step: number; kind: string; checkpointStep: number | null };
    };
    expect(err.code).toBe('DIVERGED');
    expect(err.message).toMatch(
      /^ACGAN training( \(rolled back one step\))? diverged: loss \w+ = .* at step \d+/,
    );
    expect(err.hint).toMatch(/learning rate is the usual cause: resume with a lower training.learningRateG/);
    const steps = (await readJsonl(join(out, 'metrics.jsonl'))).filter((r) => r.type === 'step');
    // It stopped at once: no step after the divergent one was trained or logged.
    expect(steps.length).toBeLessThanOrEqual(err.divergence.step);
    const run = JSON.parse(await fs.readFile(join(out, 'run.json'), 'utf8'));
    expect(run).toMatchObject({ status: 'failed', divergence: { step: err.divergence.step } });
    await expect(trainAcgan({ config, out, source: source(), resume: true })).rejects.toThrow(
      `this run diverged at step ${err.divergence.step}`,
    );
    const lower = tinyConfig({ epochs: 3, training: { checkpointEvery: 2 } });
    const again = await trainAcgan({ config: lower, out, source: source(), resume: true, maxSteps: 1 });
    expect(again.step).toBeGreaterThanOrEqual(1);
  });

  it('a custom callback that stops after k steps: exactly k steps ran, and the run folder resumes from there', async () => {
    const out = join(tmp, 'callback-stop');
    const config = tinyConfig({ epochs: 3 }); // 4 steps per epoch: step 6 is mid-epoch 1
    const seen: number[] = [];
    const stopAt6: Callback = {
      afterStep: (loop) => {
        seen.push(loop.step);
        if (loop.step === 6) loop.stop('stopped after 6 steps');
      },
    };
    const first = await trainAcgan({ config, out, source: source(), callbacks: [stopAt6] });
    expect(first).toMatchObject({ status: 'stopped', step: 6, epoch: 1, reason: 'stopped after 6 steps' });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
    expect(JSON.parse(await fs.readFile(join(out, 'run.json'), 'utf8')).status).toBe('interrupted');
    expect(await fs.readdir(join(out, 'checkpoints'))).toContain('step-00000006');
    const second = await trainAcgan({ config, out, source: source(), resume: true });
    expect(second).toMatchObject({ status: 'completed', step: 12, startStep: 6 });
    const steps = (await readJsonl(join(out, 'metrics.jsonl'))).filter((r) => r.type === 'step');
    expect(steps.map((r) => r.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it("core's EarlyStopping ends the run once the monitored loss stops improving, as completed with its reason", async () => {
    const out = join(tmp, 'early-stop');
    // A minDelta no epoch can beat: epoch 1 sets the best, epoch 2 is the one epoch of patience.
    const stop = new EarlyStopping({ monitor: 'g', patience: 1, minDelta: 1e9 });
    const result = await trainAcgan({
      config: tinyConfig({ epochs: 4 }),
      out,
      source: source(),
      callbacks: [stop],
    });
    expect(result).toMatchObject({ status: 'completed', step: 8, epoch: 2 });
    expect(result.reason).toMatch(/^g has not improved for 1 epochs \(best .* after epoch 1\)$/);
    const epochs = (await readJsonl(join(out, 'metrics.jsonl'))).filter((r) => r.type === 'epoch');
    expect(epochs).toHaveLength(2);
  });

  it('refuses to train into an existing run without resume', async () => {
    await expect(
      trainAcgan({ config: tinyConfig(), out: join(tmp, 'full'), source: source() }),
    ).rejects.toThrow(/a run already exists here/);
  });
});

describe('the generator-quality options together', () => {
  it('train with finite hinge losses and leak no tensors over 30 steps', async () => {
    const counts: number[] = [];
    const trainer = await AcganTrainer.create({
      config: allOn({ epochs: 10 }),
      maxSteps: 30,
      observer: { onStep: () => void counts.push(tf.memory().numTensors) },
      onSamples: () => undefined,
    });
    const result = await trainer.train(source());
    expect(result).toMatchObject({ status: 'stopped', step: 30 });
    expect(new Set(counts.slice(5))).toEqual(new Set([counts[5]]));
    for (const [k, v] of Object.entries(result.last!.losses)) expect(Number.isFinite(v), k).toBe(true);
    // Hinge terms are never negative; the mode-seeking term is 1/(ratio + ε) > 0, and part of G's total.
    expect(result.last!.losses.dAdvReal).toBeGreaterThanOrEqual(0);
    const { g, gAdv, gAux, gModeSeeking } = result.last!.losses;
    expect(gModeSeeking).toBeGreaterThan(0);
    expect(g).toBeCloseTo(gAdv! + gAux! + gModeSeeking!, 5);
    expect(result.last!.losses.dAdvFake).toBeGreaterThanOrEqual(0);
    trainer.dispose();
  });

  it('a run killed mid-way and resumed ends with the same bytes in every saved network', async () => {
    const config = allOn({ epochs: 3, training: { checkpointEvery: 4 } });
    await trainAcgan({ config, out: join(tmp, 'all-full'), source: source() });
    const out = join(tmp, 'all-resumed');
    await trainAcgan({ config, out, source: source(), maxSteps: 6 });
    await fs.rm(join(out, 'checkpoints', 'step-00000006'), { recursive: true });
    const second = await trainAcgan({ config, out, source: source(), resume: true });
    expect(second).toMatchObject({ status: 'completed', step: 12 });
    // The newest checkpoint holds D (with spectral norm's u and v), G and G's moving average.
    for (const net of ['discriminator', 'generator', 'generator_ema']) {
      const [a, b] = await Promise.all(
        [join(tmp, 'all-full'), out].map((r) =>
          fs.readFile(join(r, 'checkpoints', 'step-00000012', net, 'weights.bin')),
        ),
      );
      expect(b!.equals(a!), net).toBe(true);
    }
  });
});

describe('a checkpoint of skingan-checkpoint@1 (tf.train.adam state, before AdamW)', () => {
  it('resumes, and the steps after it have the losses the old code had without interruption (within 1e-4)', async () => {
    const out = join(tmp, 'v1');
    await fs.cp(join(import.meta.dirname, 'legacy-fixtures', 'run-checkpoint-v1'), out, { recursive: true });
    const r = await trainAcgan({ config: tinyConfig(), out, source: source(), resume: true });
    expect(r).toMatchObject({ status: 'completed', step: 8 });
    const old = JSON.parse(await fs.readFile(join(out, 'uninterrupted-steps.json'), 'utf8')) as {
      step: number;
      d: number;
      g: number;
    }[];
    const resumed = (await readJsonl(join(out, 'metrics.jsonl'))).filter((x) => x.type === 'step');
    expect(resumed.map((x) => x.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const s of [7, 8]) {
      const [a, b] = [old.find((x) => x.step === s)!, resumed.find((x) => x.step === s)!];
      expect(Math.abs((b.d as number) - a.d), `step ${s} d`).toBeLessThan(1e-4);
      expect(Math.abs((b.g as number) - a.g), `step ${s} g`).toBeLessThan(1e-4);
    }
    // The checkpoint it writes is of the current format.
    const manifest = JSON.parse(
      await fs.readFile(join(out, 'checkpoints', 'step-00000008', 'checkpoint.json'), 'utf8'),
    );
    expect(manifest.format).toBe('skingan-checkpoint@2');
  });
});
