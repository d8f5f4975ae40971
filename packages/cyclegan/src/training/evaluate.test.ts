import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, RunFolder } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { TensorSource, tintedImages } from '../test-utils/tensor-source.js';
import { CycleGanTrainer } from './trainer.js';

let dir = '';
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  dir = mkdtempSync(join(tmpdir(), 'cyclegan-eval-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('CycleGanTrainer evaluation hook', () => {
  it('translates with the live G_A every eval.every epochs and logs eval records', async () => {
    const config = resolveConfig(undefined, {
      size: 24,
      loadSize: 28,
      ngf: 4,
      ndf: 4,
      blocks: 1,
      poolSize: 2,
      epochs: 3,
      decayEpochs: 1,
      seed: 5,
      eval: { every: 1 },
    });
    const a = new TensorSource(tintedImages(2, 28, 'red', 1), 1, 1, 'red');
    const b = new TensorSource(tintedImages(2, 28, 'blue', 2), 1, 2, 'blue');
    const probe = tintedImages(2, 24, 'red', 3);
    const run = await RunFolder.open(join(dir, 'run'), { kind: 'cyclegan', config });
    const trainer = new CycleGanTrainer(config);
    const seen: { epoch: number; step: number; final: boolean; same: boolean }[] = [];
    await trainer.train(a, b, {
      run,
      evaluate: async (translator, at) => {
        const out = translator.translate(probe);
        const direct = trainer.nets.G_A.predict(probe) as tf.Tensor4D;
        const same = tf.tidy(() => tf.max(tf.abs(tf.sub(out, direct))).dataSync()[0]!) < 1e-6;
        tf.dispose([out, direct]);
        seen.push({ ...at, same });
        return { figures: { fid: at.epoch }, warnings: [] };
      },
    });
    await run.finish('completed');
    expect(seen).toEqual([
      { epoch: 0, step: 2, final: false, same: true },
      { epoch: 1, step: 4, final: false, same: true },
      { epoch: 2, step: 6, final: true, same: true },
    ]);
    const evals = (await run.readMetrics()).filter((r) => r.type === 'eval');
    expect(evals.map((r) => [r.epoch, r.step, r.fid, r.warnings])).toEqual([
      [0, 2, 0, []],
      [1, 4, 1, []],
      [2, 6, 2, []],
    ]);
    trainer.dispose();
    probe.dispose();
  });
});
