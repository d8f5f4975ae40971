import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, Rng, saveModel } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractFeatures } from '../gan/extract.js';
import { fid } from '../gan/fid.js';
import { layerFeatureExtractor } from './layer-extractor.js';
import { loadFeatureExtractor, loadLayerFeatureExtractor, resnet50WeightsDir } from './load-extractor.js';
import { caffePreprocess } from './preprocess.js';
import { testFeatureExtractor } from './test-extractor.js';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  dir = await mkdtemp(join(tmpdir(), 'skingan-metrics-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const conv = tf.layers.conv2d({
    filters: 4,
    kernelSize: 3,
    padding: 'same',
    name: 'c1',
    activation: 'relu',
  });
  const pool = tf.layers.globalAveragePooling2d({ name: 'gap' });
  const dense = tf.layers.dense({ units: 2, name: 'out', activation: 'softmax' });
  const h = conv.apply(input) as tf.SymbolicTensor;
  const p = pool.apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: dense.apply(p) as tf.SymbolicTensor });
}

describe('testFeatureExtractor', () => {
  it('is deterministic, 64-d, and keeps the tensor count flat across batches', async () => {
    const a = testFeatureExtractor();
    const b = testFeatureExtractor();
    const images = new Rng(1).uniformTensor<tf.Rank.R4>([10, 32, 32, 3], -1, 1);
    const before = tf.memory().numTensors;
    const fa = await extractFeatures(a, images, { batchSize: 4 });
    const mid = tf.memory().numTensors;
    const fb = await extractFeatures(b, images, { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(mid);
    expect(mid).toBe(before);
    expect([fa.rows, fa.cols]).toEqual([10, 64]);
    expect(Array.from(fb.data)).toEqual(Array.from(fa.data));
    expect(a.name).toBe('test-random-conv (64-d, 32px)');
    // Different images give different features; the same images in another order a zero FID.
    expect(fa.data.subarray(0, 64)).not.toEqual(fa.data.subarray(64, 128));
    tf.dispose(images);
    a.dispose();
    b.dispose();
  });

  it('separates image sets: FID grows with the noise added to the images', async () => {
    const ex = testFeatureExtractor();
    const base = new Rng(2).uniformTensor<tf.Rank.R4>([80, 32, 32, 3], -0.5, 0.5);
    const real = await extractFeatures(ex, base);
    const fids: number[] = [];
    for (const sigma of [0, 0.2, 0.5]) {
      const noise = new Rng(3).normalTensor<tf.Rank.R4>([80, 32, 32, 3], 0, sigma);
      const noisy = base.add(noise).clipByValue(-1, 1) as tf.Tensor4D;
      fids.push(fid(real, await extractFeatures(ex, noisy)).fid);
      tf.dispose([noise, noisy]);
    }
    expect(Math.abs(fids[0]!)).toBeLessThan(1e-9);
    expect(fids[1]!).toBeGreaterThan(fids[0]!);
    expect(fids[2]!).toBeGreaterThan(fids[1]!);
    tf.dispose(base);
    ex.dispose();
  });

  it('resizes other image sizes and disposes tensors yielded by an iterable', async () => {
    const ex = testFeatureExtractor({ inputSize: 16 });
    const before = tf.memory().numTensors;
    async function* batches() {
      yield tf.zeros<tf.Rank.R4>([2, 24, 24, 3]);
      yield tf.ones<tf.Rank.R4>([3, 24, 24, 3]);
    }
    const f = await extractFeatures(ex, batches());
    expect(f.rows).toBe(5);
    expect(tf.memory().numTensors).toBe(before);
    ex.dispose();
  });
});

describe('layerFeatureExtractor', () => {
  it('takes a named dense layer output, or pools a spatial one', () => {
    const model = smallModel();
    const x = new Rng(4).uniformTensor<tf.Rank.R4>([3, 8, 8, 3], -1, 1);
    const gap = layerFeatureExtractor(model, { layerName: 'gap', name: 'small/gap' });
    const c1 = layerFeatureExtractor(model, { layerName: 'c1', name: 'small/c1' });
    expect([gap.inputSize, gap.dim, c1.dim]).toEqual([8, 4, 4]);
    const a = gap.features(x);
    const b = c1.features(x);
    // gap = mean over space of c1's output, which is what a spatial layer is pooled to.
    expect(a.shape).toEqual([3, 4]);
    tf.test_util.expectArraysClose(a.dataSync(), b.dataSync(), 1e-6);
    tf.dispose([a, b, x]);
    model.dispose();
  });

  it('names the missing layer and lists real ones', () => {
    const model = smallModel();
    expect(() => layerFeatureExtractor(model, { layerName: 'pool5', name: 'x' })).toThrow(/no layer "pool5"/);
    try {
      layerFeatureExtractor(model, { layerName: 'pool5', name: 'x' });
    } catch (e) {
      expect((e as { hint: string }).hint).toMatch(/c1, gap, out/);
    }
    model.dispose();
  });

  it('runs a convolutional model at another input size with the same weights, and refuses one with a fixed-size layer', () => {
    const model = smallModel();
    const gap16 = layerFeatureExtractor(model, { layerName: 'gap', name: 'small/gap', inputSize: 16 });
    expect([gap16.inputSize, gap16.dim]).toEqual([16, 4]);
    const x = new Rng(5).uniformTensor<tf.Rank.R4>([2, 16, 16, 3], -1, 1);
    const f = gap16.features(x);
    // By hand: the same conv layer on the 16×16 images, averaged over space.
    const want = tf.mean(model.getLayer('c1').apply(x) as tf.Tensor4D, [1, 2]);
    tf.test_util.expectArraysClose(f.dataSync(), want.dataSync(), 1e-6);
    tf.dispose([x, f, want]);

    const input = tf.input({ shape: [8, 8, 3] });
    const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
    const fixed = tf.model({
      inputs: input,
      outputs: tf.layers.dense({ units: 2 }).apply(flat) as tf.SymbolicTensor,
    });
    expect(() => layerFeatureExtractor(fixed, { name: 'fixed', inputSize: 16 })).toThrow(
      /fixed: cannot run at 16×16, the model takes 8×8/,
    );
    fixed.dispose();
    model.dispose();
  });

  it('loads a saved model with extractor.json settings', async () => {
    const model = smallModel();
    const modelDir = join(dir, 'small');
    await saveModel(model, modelDir);
    await writeFile(
      join(modelDir, 'extractor.json'),
      JSON.stringify({ layerName: 'gap', name: 'small-gap', preprocess: 'unit' }),
    );
    const ex = await loadLayerFeatureExtractor(modelDir);
    expect([ex.name, ex.dim, ex.inputSize]).toEqual(['small-gap', 4, 8]);
    const viaCli = await loadFeatureExtractor(modelDir, { layerName: 'c1' });
    expect([viaCli.name, viaCli.dim]).toEqual(['small-gap', 4]);
    ex.dispose();
    viaCli.dispose();
    model.dispose();
    await writeFile(join(modelDir, 'extractor.json'), JSON.stringify({ inputSize: 'big' }));
    await expect(loadLayerFeatureExtractor(modelDir)).rejects.toThrow(
      /extractor.json: "inputSize" must be a positive integer/,
    );
  });
});

describe('resnet50 and --extractor resolution', () => {
  it('points at `skingan weights fetch resnet50-imagenet` when the weights are missing', async () => {
    const env = { SKINGAN_CACHE: join(dir, 'cache') };
    expect(resnet50WeightsDir(env)).toBe(join(dir, 'cache', 'weights', 'resnet50-imagenet'));
    const err = await loadFeatureExtractor('resnet50', { env }).catch((e: unknown) => e);
    expect(String(err)).toMatch(/ResNet-50 weights are not in .*resnet50-imagenet/);
    expect((err as { hint: string }).hint).toMatch(/skingan weights fetch resnet50-imagenet/);
  });

  it('rejects an unknown extractor name', async () => {
    await expect(loadFeatureExtractor(join(dir, 'nope'))).rejects.toThrow(
      /not "resnet50", "test", or a folder/,
    );
  });
});

describe('caffePreprocess', () => {
  it('maps RGB [-1, 1] to BGR [0, 255] minus the ImageNet means', () => {
    const x = tf.tensor4d([-1, 0, 1], [1, 1, 1, 3]); // R = 0, G = 127.5, B = 255
    const y = caffePreprocess(x);
    tf.test_util.expectArraysClose(y.dataSync(), [255 - 103.939, 127.5 - 116.779, 0 - 123.68], 1e-4);
    tf.dispose([x, y]);
  });
});
