import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, loadModel, RunFolder } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AcganConfig } from '../config.js';
import { loadAcganGenerator } from '../sampling/acgan-generator.js';
import { generateImages } from '../sampling/generate.js';
import { colourDataset, memorySource, TOY_COLOURS } from '../test-utils/memory-source.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { emaDecayAt } from './ema.js';
import { trainAcgan } from './train-acgan.js';
import { AcganTrainer } from './trainer.js';

const tmp = mkdtempSync(join(tmpdir(), 'acgan-ema-'));
let data: { images: tf.Tensor4D; labels: number[] };
const source = () => memorySource(data.images, data.labels, { batchSize: 8, seed: 3 });
const values = (m: tf.LayersModel) => m.getWeights().map((w) => Float64Array.from(w.dataSync()));
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  data = colourDataset(TOY_COLOURS, 8, 16, 1); // 32 images: 4 steps per epoch at batch 8
});
afterAll(() => {
  data.images.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

/** Opens `dir` to resume and builds a trainer from its newest checkpoint. */
async function resumeTrainer(dir: string, config: AcganConfig) {
  const run = await RunFolder.open(dir, { kind: 'acgan', config, resume: true, resumableKeys: ['epochs'] });
  return { run, trainer: await AcganTrainer.create({ config, run }) };
}

describe('EMA of the generator weights (training.emaDecay)', () => {
  it('warms up as min(decay, (1 + t) / (10 + t))', () => {
    expect(emaDecayAt(0.999, 1)).toBeCloseTo(2 / 11, 15);
    expect(emaDecayAt(0.999, 100)).toBeCloseTo(101 / 110, 15);
    expect(emaDecayAt(0.999, 10_000)).toBe(0.999);
    expect(emaDecayAt(0.25, 2)).toBe(0.25);
  });

  it('after 3 steps holds the hand-computed average of G’s weights, and the sample grid draws from it', async () => {
    // decay 0.25: step 1 is in the warm-up (2/11), steps 2 and 3 at the cap (3/12 = 0.25, 4/13 > 0.25).
    const config = tinyConfig({ training: { emaDecay: 0.25 } });
    const trainer = await AcganTrainer.create({ config });
    let shadow = values(trainer.generator); // the average starts at G's initial weights
    expect(values(trainer.ema!.shadow)).toEqual(shadow);
    const decays = [2 / 11, 0.25, 0.25];
    let step = 0;
    for await (const batch of source().epoch(0)) {
      if (step === 3) {
        tf.dispose([batch.images, batch.labels]);
        continue;
      }
      await trainer.trainStep(batch.images, batch.labels);
      tf.dispose([batch.images, batch.labels]);
      const d = decays[step++]!;
      const g = values(trainer.generator);
      shadow = shadow.map((s, i) => s.map((v, j) => d * v + (1 - d) * g[i]![j]!));
    }
    expect(trainer.ema!.updates).toBe(3);
    const got = values(trainer.ema!.shadow);
    const names = trainer.ema!.shadow.weights.map((w) => w.name);
    for (const [i, want] of shadow.entries()) {
      const worst = want.reduce((m, v, j) => Math.max(m, Math.abs(got[i]![j]! - v) / (1 + Math.abs(v))), 0);
      expect(worst, names[i]).toBeLessThan(1e-6);
    }
    // The average is not G: the step moved G's kernels away from it.
    const fc = names.findIndex((n) => n.includes('fc') && n.includes('kernel'));
    expect(got[fc]).not.toEqual(values(trainer.generator)[fc]);
    const grid = trainer.sampleGrid();
    const fromEma = generateImages(trainer.ema!.shadow, config, grid.labels, 5);
    const fromG = generateImages(trainer.generator, config, grid.labels, 5);
    const viaTrainer = trainer.generate(grid.labels, 5);
    expect(maxDiff(viaTrainer, fromEma)).toBe(0);
    expect(maxDiff(viaTrainer, fromG)).toBeGreaterThan(0);
    tf.dispose([grid.images, fromEma, fromG, viaTrainer]);
    trainer.dispose();
  });

  it('a killed and resumed run ends with the EMA of an uninterrupted one, byte for byte', async () => {
    const config = tinyConfig({ epochs: 3, training: { emaDecay: 0.9, checkpointEvery: 4 } });
    const full = await trainAcgan({ config, out: join(tmp, 'full'), source: source() });
    expect(full).toMatchObject({ status: 'completed', step: 12 });
    const out = join(tmp, 'resumed');
    await trainAcgan({ config, out, source: source(), maxSteps: 6 });
    // Killed after step 6: the checkpoint of step 4 is the newest left.
    await fs.rm(join(out, 'checkpoints', 'step-00000006'), { recursive: true });

    // The checkpoint round trip: the restored average is the saved one, with its update count.
    const saved = await loadModel(join(out, 'checkpoints', 'step-00000004', 'generator_ema'));
    const { run, trainer } = await resumeTrainer(out, config);
    expect(trainer.step).toBe(4);
    expect(trainer.ema!.updates).toBe(4);
    expect(values(trainer.ema!.shadow)).toEqual(values(saved));
    expect(values(trainer.ema!.shadow)).not.toEqual(values(trainer.generator));
    saved.dispose();
    trainer.dispose();
    await run.finish('interrupted');

    const second = await trainAcgan({ config, out, source: source(), resume: true });
    expect(second.step).toBe(12);
    for (const dir of ['model/generator_ema', 'model/generator']) {
      const [a, b] = await Promise.all(
        [join(tmp, 'full'), out].map((r) => fs.readFile(join(r, dir, 'weights.bin'))),
      );
      expect(b!.equals(a!), dir).toBe(true);
    }
  });

  it('a checkpoint saved without an EMA still loads: the average restarts from the restored G', async () => {
    const config = tinyConfig({ training: { emaDecay: 0.9, checkpointEvery: 4 } });
    const out = join(tmp, 'old');
    await trainAcgan({ config, out, source: source(), maxSteps: 4 });
    // Make it a checkpoint from before emaDecay existed: no generator_ema, no emaUpdates.
    const ckpt = join(out, 'checkpoints', 'step-00000004');
    await fs.rm(join(ckpt, 'generator_ema'), { recursive: true });
    const manifest = JSON.parse(await fs.readFile(join(ckpt, 'checkpoint.json'), 'utf8'));
    manifest.models = ['generator', 'discriminator'];
    delete manifest.state.emaUpdates;
    await fs.writeFile(join(ckpt, 'checkpoint.json'), JSON.stringify(manifest));

    const { run, trainer } = await resumeTrainer(out, config);
    expect(trainer.step).toBe(4);
    expect(trainer.ema!.updates).toBe(0);
    expect(values(trainer.ema!.shadow)).toEqual(values(trainer.generator));
    trainer.dispose();
    await run.finish('interrupted');
    const resumed = await trainAcgan({ config, out, source: source(), resume: true, maxSteps: 6 });
    expect(resumed).toMatchObject({ status: 'stopped', step: 6 });
  });

  it('a run saved before the quality options existed resumes: their defaults fill its config.json', async () => {
    const config = tinyConfig({ epochs: 1 });
    const out = join(tmp, 'before-options');
    await trainAcgan({ config, out, source: source(), maxSteps: 2 });
    // config.json as skingan wrote it before these fields: none of them.
    const saved = JSON.parse(await fs.readFile(join(out, 'config.json'), 'utf8'));
    delete saved.generator.upsample;
    delete saved.discriminator.spectralNorm;
    delete saved.discriminator.projection;
    delete saved.training.emaDecay;
    delete saved.training.adversarialLoss;
    await fs.writeFile(join(out, 'config.json'), JSON.stringify(saved));
    const resumed = await trainAcgan({ config, out, source: source(), resume: true });
    expect(resumed).toMatchObject({ status: 'completed', step: 4 });
  });

  it('loadAcganGenerator samples from the EMA where the run has one, from G with weights: raw', async () => {
    const ema = await loadAcganGenerator(join(tmp, 'full'));
    expect(ema.source).toMatchObject({
      step: 12,
      ema: true,
      dir: join(tmp, 'full', 'model', 'generator_ema'),
    });
    const raw = await loadAcganGenerator(join(tmp, 'full'), { weights: 'raw' });
    expect(raw.source).toMatchObject({ step: 12, ema: false, dir: join(tmp, 'full', 'model', 'generator') });
    const [a, b] = [ema.generate([0, 1, 2, 3], 9), raw.generate([0, 1, 2, 3], 9)];
    expect(maxDiff(a, b)).toBeGreaterThan(0);
    tf.dispose([a, b]);
    ema.dispose();
    raw.dispose();
    // A run stopped before the end: the newest checkpoint's EMA.
    const stopped = await loadAcganGenerator(join(tmp, 'old'));
    expect(stopped.source?.ema).toBe(true);
    expect(stopped.source?.dir).toMatch(/step-00000006[/\\]generator_ema$/);
    stopped.dispose();
  });
});
