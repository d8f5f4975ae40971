import { countParams, initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNormal } from './init.js';
import { createPatchDiscriminator } from './patch-discriminator.js';
import { createResnetGenerator } from './resnet-generator.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

// Parameter counts printed by ../shared/anchors/torch_reference.py (paramsG and paramsD are for
// both generators / both discriminators), e.g.
//   /usr/bin/python3 torch_reference.py --setup cyclegan --size 64 --ngf 16 --ndf 16 --blocks 3 --steps 1
const ANCHOR = [
  { setup: 'cyclegan-64', ngf: 16, ndf: 16, blocks: 3, paramsG: 545030, paramsD: 350178 },
  { setup: 'cyclegan-128', ngf: 32, ndf: 32, blocks: 3, paramsG: 2159110, paramsD: 1388482 },
  { setup: 'thesis (256², 9 blocks)', ngf: 64, ndf: 64, blocks: 9, paramsG: 22756358, paramsD: 5529474 },
];

describe('ResNet generator and PatchGAN', () => {
  for (const a of ANCHOR) {
    it(`parameter counts match the PyTorch anchor for ${a.setup}`, () => {
      const g = createResnetGenerator({ ngf: a.ngf, blocks: a.blocks });
      const d = createPatchDiscriminator({ ndf: a.ndf });
      expect(2 * countParams(g).trainable).toBe(a.paramsG);
      expect(2 * countParams(d).trainable).toBe(a.paramsD);
      g.dispose();
      d.dispose();
    });
  }

  it('generator keeps the image size, PatchGAN gives one logit per 70×70 patch', () => {
    const g = createResnetGenerator({ ngf: 4, blocks: 2 });
    const d = createPatchDiscriminator({ ndf: 4 });
    initNormal(g, new Rng(1));
    initNormal(d, new Rng(2));
    tf.tidy(() => {
      const x = tf.zeros([2, 64, 48, 3]);
      const y = g.apply(x) as tf.Tensor;
      expect(y.shape).toEqual([2, 64, 48, 3]);
      const v = y.dataSync();
      expect(Math.max(...v.map(Math.abs))).toBeLessThan(1); // tanh
      // 64 → 32 → 16 → 8 (stride 2) → 7 → 6 (k4 s1 p1), as in the reference.
      expect((d.apply(x) as tf.Tensor).shape).toEqual([2, 6, 4, 1]);
      expect((d.apply(tf.zeros([1, 256, 256, 3])) as tf.Tensor).shape).toEqual([1, 30, 30, 1]);
    });
    g.dispose();
    d.dispose();
  });

  it('initializes kernels from N(0, 0.02) and biases at zero, the same for the same seed', () => {
    const make = (seed: number) => {
      const g = createResnetGenerator({ ngf: 8, blocks: 1 });
      initNormal(g, new Rng(seed));
      return g;
    };
    const [a, b, c] = [make(3), make(3), make(4)];
    const kernels = a.weights.filter((w) => w.originalName.endsWith('/kernel'));
    const all = Float32Array.from(kernels.flatMap((w) => Array.from(w.read().dataSync())));
    const mean = all.reduce((s, v) => s + v, 0) / all.length;
    const std = Math.sqrt(all.reduce((s, v) => s + (v - mean) ** 2, 0) / all.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    for (const w of a.weights.filter((w) => w.originalName.endsWith('/bias'))) {
      expect(Math.max(...w.read().dataSync().map(Math.abs))).toBe(0);
    }
    const same = a.weights.every((w, i) =>
      tf.tidy(() => tf.equal(w.read(), b.weights[i]!.read()).all().dataSync()[0] === 1),
    );
    const differ = a.weights.some((w, i) =>
      tf.tidy(() => tf.equal(w.read(), c.weights[i]!.read()).all().dataSync()[0] === 0),
    );
    expect(same).toBe(true);
    expect(differ).toBe(true);
    for (const m of [a, b, c]) m.dispose();
  });
});
