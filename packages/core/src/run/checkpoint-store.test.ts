import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { AdamW } from '../optim/adamw.js';
import { Rng } from '../random.js';
import { CHECKPOINT_FORMAT, CheckpointStore } from './checkpoint-store.js';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-ckpt-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function net(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [4],
        units: 8,
        activation: 'relu',
        kernelInitializer: tf.initializers.randomNormal({ seed }),
      }),
      tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.randomNormal({ seed: seed + 1 }) }),
    ],
  });
}

const adamW = (m: tf.LayersModel) =>
  new AdamW(
    m.trainableWeights.map((w) => w.read() as tf.Variable),
    { lr: 0.05, beta1: 0.5, weightDecay: 0.01 },
  );

/** Trains `model` for `steps` Adam steps on a fixed regression problem; returns the losses. */
async function trainSteps(
  model: tf.LayersModel,
  opt: tf.Optimizer,
  rng: Rng,
  steps: number,
): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const x = rng.normalTensor<tf.Rank.R2>([8, 4]);
    const y = tf.tidy(() => x.sum(1, true));
    const cost = opt.minimize(
      () => tf.losses.meanSquaredError(y, model.predict(x) as tf.Tensor) as tf.Scalar,
      true,
    )!;
    losses.push((await cost.data())[0]!);
    tf.dispose([x, y, cost]);
  }
  return losses;
}

describe('CheckpointStore', () => {
  it('resumes training exactly: weights, AdamW moments and step counts, RNG state restored', async () => {
    // Uninterrupted: 10 steps.
    const m1 = net(1);
    const o1 = adamW(m1);
    const r1 = new Rng(7);
    const full = await trainSteps(m1, o1, r1, 10);

    // Interrupted after 4 steps, resumed in fresh objects.
    const m2 = net(1);
    const o2 = adamW(m2);
    const r2 = new Rng(7);
    const first = await trainSteps(m2, o2, r2, 4);
    const store = new CheckpointStore(join(dir, 'checkpoints'));
    await store.save({
      step: 4,
      epoch: 0,
      models: { net: m2 },
      optimizers: { adam: o2 },
      state: { rng: r2.state },
    });

    const m3 = net(99); // different init: must be overwritten
    const o3 = adamW(m3);
    const ref = await store.latest();
    expect(ref?.step).toBe(4);
    const restored = await store.restore<{ rng: [number, number, number, number] }>(ref!, {
      models: { net: m3 },
      optimizers: { adam: o3 },
    });
    const r3 = new Rng(restored.state.rng);
    const rest = await trainSteps(m3, o3, r3, 6);

    // Bit for bit: β-powers come from the restored integer step counts.
    expect([...first, ...rest]).toEqual(full);
    expect(m3.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(
      m1.getWeights().map((w) => Array.from(w.dataSync())),
    );
    [m1, m2, m3].forEach((m) => {
      m.dispose();
    });
    [o1, o2, o3].forEach((o) => {
      o.dispose();
    });
  });

  it('keeps the newest checkpoints and ignores an unfinished one', async () => {
    const store = new CheckpointStore(join(dir, 'checkpoints'), 2);
    const m = net(3);
    for (const step of [10, 20, 30]) await store.save({ step, epoch: 0, models: { net: m } });
    expect((await store.list()).map((r) => r.step)).toEqual([20, 30]);
    // A save killed before its manifest was written: a step folder without checkpoint.json.
    await fs.mkdir(join(dir, 'checkpoints', 'step-00000040', 'net'), { recursive: true });
    expect((await store.latest())?.step).toBe(30);
    m.dispose();
  });

  it('names what is missing in a checkpoint', async () => {
    const store = new CheckpointStore(join(dir, 'checkpoints'));
    const m = net(4);
    const ref = await store.save({ step: 1, epoch: 0, models: { net: m } });
    await expect(store.restore(ref, { optimizers: { adam: new AdamW([]) } })).rejects.toThrow(
      /checkpoint\.json: checkpoint has no state for optimizer "adam"/,
    );
    await expect(store.restore(ref, { models: { other: m } })).rejects.toThrow(/no network "other"/);
    await fs.rm(join(ref.dir, 'checkpoint.json'));
    await expect(store.restore(ref)).rejects.toThrow(/manifest is missing or unreadable/);
    m.dispose();
  });

  it('writes its format, and refuses a format it does not read, naming both', async () => {
    const store = new CheckpointStore(join(dir, 'checkpoints'));
    const m = net(4);
    const ref = await store.save({ step: 1, epoch: 0, models: { net: m } });
    const manifest = join(ref.dir, 'checkpoint.json');
    const saved = JSON.parse(await fs.readFile(manifest, 'utf8'));
    expect(saved.format).toBe('skingan-checkpoint@2');
    expect(CHECKPOINT_FORMAT).toBe('skingan-checkpoint@2');
    await fs.writeFile(manifest, JSON.stringify({ ...saved, format: 'skingan-checkpoint@3' }));
    await expect(store.restore(ref)).rejects.toThrow(
      `${manifest}: checkpoint is in format skingan-checkpoint@3; this version of skingan reads skingan-checkpoint@2 and skingan-checkpoint@1`,
    );
    m.dispose();
  });
});

describe('after a divergence', () => {
  it('lastGoodCheckpoint sets aside the checkpoint of the step before an exploding loss (it produced it), not a stall', async () => {
    const { lastGoodCheckpoint } = await import('./divergence-guard.js');
    const store = new CheckpointStore(join(dir, 'checkpoints'), 3);
    const m = net(1);
    for (const step of [4, 8, 9]) await store.save({ step, epoch: 0, models: { m } });
    const exploding = { kind: 'exploding', step: 10, loss: 'loss', value: 1e9, message: 'x' } as const;
    expect(await lastGoodCheckpoint(store, exploding)).toEqual({ checkpointStep: 8, setAside: [9] });
    expect((await store.latest())?.step).toBe(8);
    expect(JSON.parse(await fs.readFile(join(store.dir, 'latest.json'), 'utf8')).step).toBe(8);
    // Moved, not deleted.
    expect(await fs.readdir(store.dir)).toContain('suspect-step-00000009');
    const stall = { kind: 'frozen', step: 12, loss: 'd', value: 1, message: 'y' } as const;
    expect(await lastGoodCheckpoint(store, stall)).toEqual({ checkpointStep: 8, setAside: [] });
    const nan = { kind: 'non-finite', step: 5, loss: 'loss', value: Number.NaN, message: 'z' } as const;
    expect(await lastGoodCheckpoint(store, nan)).toEqual({ checkpointStep: null, setAside: [4, 8] });
    expect(await store.latest()).toBeUndefined();
    await expect(fs.stat(join(store.dir, 'latest.json'))).rejects.toThrow(/ENOENT/);
    m.dispose();
  });
});
