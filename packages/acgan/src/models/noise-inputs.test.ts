import { countParams, initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { drawNoiseMaps, generateImages, noiseMapSides } from '../sampling/generate.js';
import { colourDataset, memorySource, TOY_COLOURS } from '../test-utils/memory-source.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { AcganTrainer } from '../training/trainer.js';
import { buildGenerator, generatorChannels } from './generator.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
const noiseWeights = (g: tf.LayersModel) => g.layers.filter((l) => l.name.endsWith('_noise_weight'));

describe('generator.noise: per-pixel noise inputs (StyleGAN)', () => {
  // 16² from a 4² start: two blocks, the first hidden (8², noise), the second makes the image.
  const config = tinyConfig({ generator: { upsample: 'nearest-conv', kernelSize: 3, noise: true } });

  it('adds one [side, side, 1] input per hidden block and one weight per channel, starting at 0', () => {
    const g = buildGenerator(config, new Rng(1));
    const plain = buildGenerator(
      tinyConfig({ generator: { upsample: 'nearest-conv', kernelSize: 3 } }),
      new Rng(1),
    );
    expect(g.inputs.map((i) => i.name)).toEqual(['noise', 'label', 'pixel_noise_1']);
    expect(noiseMapSides(g)).toEqual([8]);
    expect(noiseMapSides(plain)).toEqual([]);
    const hidden = generatorChannels(config).slice(1); // the hidden blocks' output channels
    expect(countParams(g).trainable - countParams(plain).trainable).toBe(hidden.reduce((a, b) => a + b, 0));
    for (const l of noiseWeights(g))
      expect(tf.tidy(() => tf.max(tf.abs(l.getWeights()[0]!)).dataSync()[0])).toBe(0);
    g.dispose();
    plain.dispose();
  });

  it("the block's map is its conv output + w_c · noise, hand-checked per channel", () => {
    const g = buildGenerator(config, new Rng(1));
    const layer = g.getLayer('up1_noise_weight');
    const c = generatorChannels(config)[1]!;
    const w = Array.from({ length: c }, (_, i) => 0.5 - i / c);
    layer.setWeights([tf.tensor4d(w, [1, 1, 1, c])]);
    const probe = tf.model({
      inputs: g.inputs,
      outputs: [
        g.getLayer('up1_upconv').output as tf.SymbolicTensor,
        g.getLayer('up1_noise').output as tf.SymbolicTensor,
      ],
    });
    const rng = new Rng(5);
    const z = rng.normalTensor<tf.Rank.R2>([2, config.generator.latentDim]);
    const y = tf.oneHot([0, 3], 4).toFloat();
    const [map] = drawNoiseMaps(rng, 2, [8]);
    const [conv, noisy] = probe.predict([z, y, map!]) as tf.Tensor4D[];
    const [cv, nv, mv] = [conv!.arraySync(), noisy!.arraySync(), map!.arraySync()];
    for (const [b, i, j, ch] of [
      [0, 0, 0, 0],
      [1, 7, 3, c - 1],
      [1, 2, 5, 1],
    ] as const) {
      expect(nv[b]![i]![j]![ch]!).toBeCloseTo(cv[b]![i]![j]![ch]! + w[ch]! * mv[b]![i]![j]![0]!, 5);
    }
    tf.dispose([z, y, map!, conv!, noisy!]);
    g.dispose();
  });

  it('the maps change the images once the weights are not 0; image i is drawn from seed + i, maps included', () => {
    const g = buildGenerator(config, new Rng(1));
    const c = generatorChannels(config)[1]!;
    const labels = [0, 1, 2, 3];
    // At initialisation the weights are 0: two different noise draws of the maps, one image.
    const fixedZ = new Rng(9).normalTensor<tf.Rank.R2>([4, config.generator.latentDim]);
    const y = tf.oneHot(labels, 4).toFloat();
    const [m1, m2] = [drawNoiseMaps(new Rng(1), 4, [8])[0]!, drawNoiseMaps(new Rng(2), 4, [8])[0]!];
    const apply = (m: tf.Tensor) => g.apply([fixedZ, y, m], { training: false }) as tf.Tensor;
    const [a0, b0] = [apply(m1), apply(m2)];
    expect(maxDiff(a0, b0)).toBe(0);
    g.getLayer('up1_noise_weight').setWeights([tf.fill([1, 1, 1, c], 0.3) as tf.Tensor4D]);
    const [a1, b1] = [apply(m1), apply(m2)];
    expect(maxDiff(a1, b1)).toBeGreaterThan(1e-3);
    // Per-image seeds: the third image of a call with seed 40 is the only image of a call with seed 42.
    const all = generateImages(g, config, labels, 40);
    const third = generateImages(g, config, [2], 42);
    expect(maxDiff(tf.slice(all, [2, 0, 0, 0], [1, -1, -1, -1]), third)).toBeLessThan(1e-6);
    expect(maxDiff(all, generateImages(g, config, labels, 40))).toBe(0);
    tf.dispose([fixedZ, y, m1, m2, a0, b0, a1, b1, all, third]);
    g.dispose();
  });

  it('training moves the noise weights off 0 and is reproducible from the seed', async () => {
    const data = colourDataset(TOY_COLOURS, 8, 16, 1);
    const weights: Float32Array[][] = [];
    for (let run = 0; run < 2; run++) {
      const trainer = await AcganTrainer.create({ config: { ...config, epochs: 1 } });
      await trainer.train(memorySource(data.images, data.labels, { batchSize: 8, seed: 3 }));
      weights.push(noiseWeights(trainer.generator).map((l) => l.getWeights()[0]!.dataSync() as Float32Array));
      trainer.dispose();
    }
    data.images.dispose();
    expect(Math.max(...weights[0]!.flatMap((w) => [...w].map(Math.abs)))).toBeGreaterThan(0);
    expect(weights[1]).toEqual(weights[0]);
  });
});
