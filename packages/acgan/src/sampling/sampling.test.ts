import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, isSkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourDataset, memorySource } from '../test-utils/memory-source.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { trainAcgan } from '../training/train-acgan.js';
import { loadAcganGenerator } from './acgan-generator.js';
import { resizeImages, type SampleRecord, sampleToDataset } from './sample-dataset.js';

const tmp = mkdtempSync(join(tmpdir(), 'acgan-sampling-'));
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  const data = colourDataset(
    [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 1, 0],
    ],
    4,
    16,
  );
  const source = memorySource(data.images, data.labels, { batchSize: 8 });
  await trainAcgan({ config: tinyConfig({ epochs: 2 }), out: join(tmp, 'done'), source });
  await trainAcgan({ config: tinyConfig({ epochs: 2 }), out: join(tmp, 'stopped'), source, maxSteps: 3 });
  data.images.dispose();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('AcganGenerator', () => {
  it("loads a finished run's generator; the same seed draws the same images, image i from seed + i", async () => {
    const g = await loadAcganGenerator(join(tmp, 'done'));
    expect(g.imageSize).toBe(16);
    expect(g.labelSpace.classes).toEqual(['A', 'B', 'C', 'D']);
    expect(g.source?.step).toBe(4);
    expect(g.source?.dir).toMatch(/model[/\\]generator$/);
    const a = g.generate([0, 1, 2, 3], 42);
    const b = g.generate([0, 1, 2, 3], 42);
    const c = g.generate([0, 1, 2, 3], 43);
    const third = g.generate([2], 44);
    expect(a.shape).toEqual([4, 16, 16, 3]);
    expect(maxDiff(a, b)).toBe(0);
    expect(maxDiff(a, c)).toBeGreaterThan(0);
    expect(maxDiff(tf.slice(a, [2, 0, 0, 0], [1, -1, -1, -1]), third)).toBeLessThan(1e-6);
    tf.dispose([a, b, c, third]);
    g.dispose();
  });

  it('falls back to the newest checkpoint of a run that has not finished', async () => {
    const g = await loadAcganGenerator(join(tmp, 'stopped'));
    expect(g.source?.step).toBe(3);
    expect(g.source?.dir).toMatch(/step-00000003[/\\]generator$/);
    g.dispose();
  });

  it('says what is wrong with a folder that holds no run, and with a bad label', async () => {
    await fs.mkdir(join(tmp, 'empty'));
    const err = await loadAcganGenerator(join(tmp, 'empty')).catch((e: unknown) => e);
    expect(isSkinganError(err)).toBe(true);
    expect((err as Error).message).toMatch(/empty: no ACGAN run here \(config\.json is missing\)/);
    const g = await loadAcganGenerator(join(tmp, 'done'));
    expect(() => g.generate([0, 4])).toThrow(/label 4 \(at index 1\) is not a class index/);
    g.dispose();
  });
});

describe('sampleToDataset', () => {
  it('writes perClass images of every class in batches, each redrawable from its recorded seed', async () => {
    const g = await loadAcganGenerator(join(tmp, 'done'));
    const batches: { shape: number[]; records: SampleRecord[]; pixels: Float32Array }[] = [];
    const result = await sampleToDataset(g, {
      perClass: 3,
      seed: 100,
      batchSize: 5,
      write: async (images, records) => {
        batches.push({ shape: images.shape, records, pixels: images.dataSync() as Float32Array });
      },
    });
    expect(result).toEqual({ count: 12, perClass: { A: 3, B: 3, C: 3, D: 3 } });
    expect(batches.map((b) => b.shape[0])).toEqual([5, 5, 2]);
    const records = batches.flatMap((b) => b.records);
    expect(records.map((r) => r.seed)).toEqual(Array.from({ length: 12 }, (_, k) => 100 + k));
    expect(records.map((r) => `${r.className}${r.index}`).slice(0, 4)).toEqual(['A0', 'A1', 'A2', 'B0']);
    // Record 6 (class C, index 0) is the second image of the second batch.
    const r = records[6]!;
    expect(r).toMatchObject({ label: 2, className: 'C', index: 0, seed: 106 });
    const again = g.generate([r.label], r.seed);
    const written = tf.tensor4d(batches[1]!.pixels.slice(16 * 16 * 3, 2 * 16 * 16 * 3), [1, 16, 16, 3]);
    expect(maxDiff(again, written)).toBeLessThan(1e-6);
    tf.dispose([again, written]);
    g.dispose();
  });

  it('resizes on request and rejects a bad count', async () => {
    const g = await loadAcganGenerator(join(tmp, 'done'));
    const shapes: number[][] = [];
    await sampleToDataset(g, {
      perClass: 1,
      size: 8,
      classes: [1],
      write: async (x) => void shapes.push(x.shape),
    });
    await sampleToDataset(g, {
      perClass: 1,
      size: 24,
      classes: [1],
      write: async (x) => void shapes.push(x.shape),
    });
    expect(shapes).toEqual([
      [1, 8, 8, 3],
      [1, 24, 24, 3],
    ]);
    await expect(sampleToDataset(g, { perClass: 0, write: async () => {} })).rejects.toThrow(
      /--per-class must be a positive integer/,
    );
    g.dispose();
  });
});

describe('resizeImages', () => {
  it('averages 2×2 blocks when halving and keeps [-1, 1] when enlarging', () => {
    const x = tf.tensor4d([1, 1, 1, -1, -1, -1, 1, 1, 1, 1, 1, 1], [1, 2, 2, 3]);
    const half = resizeImages(x, 1);
    expect(Array.from(half.dataSync())).toEqual([0.5, 0.5, 0.5]);
    const big = resizeImages(x, 5);
    const v = big.dataSync();
    expect(Math.max(...v)).toBeLessThanOrEqual(1);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(-1);
    tf.dispose([x, half, big]);
  });
});
