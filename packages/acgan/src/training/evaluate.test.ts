import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourDataset, memorySource } from '../test-utils/memory-source.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { trainAcgan } from './train-acgan.js';

const tmp = mkdtempSync(join(tmpdir(), 'acgan-eval-'));
let data: { images: tf.Tensor4D; labels: number[] };

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  data = colourDataset(
    [
      [0.8, -0.8, -0.8],
      [-0.8, 0.8, -0.8],
      [-0.8, -0.8, 0.8],
      [0.8, 0.8, -0.8],
    ],
    4,
    16,
    1,
  ); // 16 images: 2 steps per epoch at batch 8
});
afterAll(() => {
  data.images.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('AcganTrainer evaluation hook', () => {
  it('runs every eval.every epochs with the live generator, and logs eval records with the warnings', async () => {
    const calls: { epoch: number; step: number; final: boolean; shape: number[] }[] = [];
    const out = join(tmp, 'run');
    await trainAcgan({
      config: tinyConfig({ epochs: 4, eval: { every: 2 } }),
      out,
      source: memorySource(data.images, data.labels, { batchSize: 8, seed: 1 }),
      evaluate: async (generator, at) => {
        const images = generator.generate([0, 1, 2], 7);
        calls.push({ ...at, shape: images.shape });
        images.dispose();
        return {
          figures: { fid: 10 + at.epoch },
          warnings: at.epoch === 3 ? ['mode collapse: class X'] : [],
        };
      },
    });
    expect(calls).toEqual([
      { epoch: 1, step: 4, final: false, shape: [3, 16, 16, 3] },
      { epoch: 3, step: 8, final: true, shape: [3, 16, 16, 3] },
    ]);
    const records = (await fs.readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    const evals = records.filter((r) => r.type === 'eval');
    expect(evals.map(({ ms, ...r }) => r)).toEqual([
      { type: 'eval', step: 4, epoch: 1, fid: 11, warnings: [] },
      { type: 'eval', step: 8, epoch: 3, fid: 13, warnings: ['mode collapse: class X'] },
    ]);
    // After the epoch's own record.
    expect(records.findIndex((r) => r.type === 'eval')).toBeGreaterThan(
      records.findIndex((r) => r.type === 'epoch' && r.epoch === 1),
    );
  });

  it('an evaluation the hook skips (undefined) logs nothing', async () => {
    const out = join(tmp, 'skipped');
    await trainAcgan({
      config: tinyConfig({ epochs: 2, eval: { every: 1 } }),
      out,
      source: memorySource(data.images, data.labels, { batchSize: 8, seed: 1 }),
      evaluate: async (_, at) => (at.final ? { figures: { fid: 1 }, warnings: [] } : undefined),
    });
    const evals = (await fs.readFile(join(out, 'metrics.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((r) => r.type === 'eval');
    expect(evals.map((r) => r.epoch)).toEqual([1]);
  });

  it('eval.every 0 never evaluates', async () => {
    let calls = 0;
    await trainAcgan({
      config: tinyConfig({ epochs: 2, eval: { every: 0 } }),
      out: join(tmp, 'off'),
      source: memorySource(data.images, data.labels, { batchSize: 8, seed: 1 }),
      evaluate: async () => {
        calls++;
        return { figures: {}, warnings: [] };
      },
    });
    expect(calls).toBe(0);
  });
});
