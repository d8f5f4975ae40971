import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSystem, initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNormal } from '../networks/init.js';
import { createPatchDiscriminator } from '../networks/patch-discriminator.js';
import { createResnetGenerator } from '../networks/resnet-generator.js';
import { finiteDifferences, fixedTensor, worstMismatch } from '../test-utils/grad-check.js';
import { instanceNormalization } from './instance-normalization.js';
import { paddedConv2dTranspose } from './padded-conv.js';
import { reflectionPadding2d } from './reflection-padding.js';

let dir = '';
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  dir = mkdtempSync(join(tmpdir(), 'cyclegan-layers-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('custom layers', () => {
  it('a saved generator loads with plain tf.loadLayersModel and computes the same', async () => {
    const g = createResnetGenerator({ ngf: 4, blocks: 2, name: 'G_A' });
    initNormal(g, new Rng(1), 0.2);
    await g.save(fileSystem(join(dir, 'g')));
    const topology = readFileSync(join(dir, 'g', 'model.json'), 'utf8');
    for (const cls of [
      'ReflectionPadding2D',
      'InstanceNormalization',
      'PaddedConv2D',
      'PaddedConv2DTranspose',
    ]) {
      expect(topology).toContain(`"class_name":"${cls}"`);
    }
    const loaded = await tf.loadLayersModel(fileSystem(join(dir, 'g')));
    const custom = new Set([
      'ReflectionPadding2D',
      'InstanceNormalization',
      'PaddedConv2D',
      'PaddedConv2DTranspose',
    ]);
    const configs = (m: tf.LayersModel) =>
      m.layers.filter((l) => custom.has(l.getClassName())).map((l) => [l.getClassName(), l.getConfig()]);
    // 2 reflection pads, 4 convolutions, 2 transposed ones, 5 norms, 6 layers per residual block.
    expect(configs(loaded)).toHaveLength(2 + 4 + 2 + 5 + 2 * 6);
    expect(configs(loaded)).toEqual(configs(g));
    tf.tidy(() => {
      const x = fixedTensor([1, 20, 16, 3], 2);
      expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(
        Array.from((g.predict(x) as tf.Tensor).dataSync()),
      );
    });
    g.dispose();
    loaded.dispose();
  });

  it('a generator with up-convs (no transposed convs) saves and loads, computing the same', async () => {
    const g = createResnetGenerator({ ngf: 4, blocks: 1, upsample: 'bilinear', name: 'G_B' });
    initNormal(g, new Rng(3), 0.2);
    await g.save(fileSystem(join(dir, 'g-up')));
    const topology = readFileSync(join(dir, 'g-up', 'model.json'), 'utf8');
    expect(topology).toContain('"class_name":"PaddedUpConv2D"');
    expect(topology).not.toContain('PaddedConv2DTranspose');
    const loaded = await tf.loadLayersModel(fileSystem(join(dir, 'g-up')));
    expect(loaded.getLayer('up1_conv').getConfig()).toMatchObject({ interpolation: 'bilinear', strides: 1 });
    tf.tidy(() => {
      const x = fixedTensor([1, 12, 8, 3], 4);
      const y = loaded.predict(x) as tf.Tensor;
      expect(y.shape).toEqual([1, 12, 8, 3]);
      expect(Array.from(y.dataSync())).toEqual(Array.from((g.predict(x) as tf.Tensor).dataSync()));
    });
    g.dispose();
    loaded.dispose();
  });

  it('a saved PatchGAN round-trips too', async () => {
    const d = createPatchDiscriminator({ ndf: 4 });
    initNormal(d, new Rng(2), 0.2);
    await d.save(fileSystem(join(dir, 'd')));
    const loaded = await tf.loadLayersModel(fileSystem(join(dir, 'd')));
    tf.tidy(() => {
      const x = fixedTensor([2, 32, 32, 3], 3);
      expect(Array.from((loaded.predict(x) as tf.Tensor).dataSync())).toEqual(
        Array.from((d.predict(x) as tf.Tensor).dataSync()),
      );
    });
    d.dispose();
    loaded.dispose();
  });

  it('layer gradients match finite differences (pad → instance norm → transposed conv)', () => {
    // A small model of the three custom kinds; loss linear in the output, input tiny.
    const input = tf.input({ shape: [3, 3, 2] });
    let y = reflectionPadding2d({ padding: 2 }).apply(input) as tf.SymbolicTensor;
    y = instanceNormalization().apply(y) as tf.SymbolicTensor;
    y = paddedConv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 1, outputPadding: 1 }).apply(
      y,
    ) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    initNormal(model, new Rng(4), 0.5);
    tf.tidy(() => {
      const x = fixedTensor([1, 3, 3, 2], 5);
      const r = fixedTensor([1, 14, 14, 2], 6);
      const f = (xx: tf.Tensor) => tf.sum(tf.mul(model.apply(xx) as tf.Tensor, r)) as tf.Scalar;
      const analytic = tf.grad(f)(x).dataSync();
      const numeric = finiteDifferences(f, x, 1e-2);
      // Loss ≈ O(10): rounding ≈ 6e-8·10/1e-2 ≈ 6e-5; the instance norm adds an h² truncation term.
      expect(worstMismatch(analytic, numeric, 5e-3, 2e-2)).toBeLessThan(1);
      // The kernel gradient, one weight at a time.
      const kernel = model.layers[3]!.getWeights()[0]!;
      const fw = (k: tf.Tensor) => {
        model.layers[3]!.setWeights([k, model.layers[3]!.getWeights()[1]!]);
        return f(x);
      };
      const gw = tf.variableGrads(() => f(x), [model.layers[3]!.trainableWeights[0]!.read() as tf.Variable]);
      const gwAnalytic = Object.values(gw.grads)[0]!.dataSync();
      const gwNumeric = finiteDifferences(fw, kernel, 1e-2);
      fw(kernel);
      // Linear in the kernel: no truncation error.
      expect(worstMismatch(gwAnalytic, gwNumeric, 2e-3, 1e-2)).toBeLessThan(1);
    });
    model.dispose();
  });
});
