import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourDataset, memorySource } from '../test-utils/memory-source.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { trainAcgan } from './train-acgan.js';
import { AcganTrainer } from './trainer.js';

const tmp = mkdtempSync(join(tmpdir(), 'acgan-quality-'));
let data: { images: tf.Tensor4D; labels: number[] };
const source = () => memorySource(data.images, data.labels, { batchSize: 8, seed: 3 });

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
      ...overrides.training,
    },
  });

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  data = colourDataset(
    [
      [0.8, -0.8, -0.8],
      [-0.8, 0.8, -0.8],
      [-0.8, -0.8, 0.8],
      [0.8, 0.8, -0.8],
    ],
    8,
    16,
    1,
  );
});
afterAll(() => {
  data.images.dispose();
  rmSync(tmp, { recursive: true, force: true });
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
    // Hinge terms are never negative.
    expect(result.last!.losses.dAdvReal).toBeGreaterThanOrEqual(0);
    expect(result.last!.losses.dAdvFake).toBeGreaterThanOrEqual(0);
    trainer.dispose();
  });

  it('a run killed mid-way and resumed ends with the same bytes in every saved network', async () => {
    const config = allOn({ epochs: 3, training: { checkpointEvery: 4 } });
    await trainAcgan({ config, out: join(tmp, 'full'), source: source() });
    const out = join(tmp, 'resumed');
    await trainAcgan({ config, out, source: source(), maxSteps: 6 });
    await fs.rm(join(out, 'checkpoints', 'step-00000006'), { recursive: true });
    const second = await trainAcgan({ config, out, source: source(), resume: true });
    expect(second).toMatchObject({ status: 'completed', step: 12 });
    // The newest checkpoint holds D (with spectral norm's u and v), G and G's moving average.
    for (const net of ['discriminator', 'generator', 'generator_ema']) {
      const [a, b] = await Promise.all(
        [join(tmp, 'full'), out].map((r) =>
          fs.readFile(join(r, 'checkpoints', 'step-00000012', net, 'weights.bin')),
        ),
      );
      expect(b!.equals(a!), net).toBe(true);
    }
  });
});
