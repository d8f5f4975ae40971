import { countParams, initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  finiteDifferences,
  fixedTensor,
  worstMismatch,
} from '../../../cyclegan/src/test-utils/grad-check.js';
import { type AcganConfig, CPU_REFERENCE, resolveAcganConfig } from '../config.js';
import { NearestUpConv2D } from '../layers/nearest-up-conv.js';
import { buildDiscriminator } from './discriminator.js';
import { buildGenerator, generatorChannels } from './generator.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

function build(config: AcganConfig) {
  const rng = new Rng(1);
  return { g: buildGenerator(config, rng), d: buildDiscriminator(config, rng) };
}

/** Trainable parameters from the architecture's definition, layer by layer. */
function expectedParams(c: AcganConfig): { g: number; d: number } {
  const C = c.labelSpace.classes.length;
  const { generator: g, discriminator: d } = c;
  const conv = (k: number, cin: number, cout: number) => k * k * cin * cout + cout;
  let gp = 0;
  const code = g.labelEmbedding > 0 ? g.labelEmbedding : C;
  if (g.labelEmbedding > 0) gp += C * g.labelEmbedding;
  const stages = Math.log2(c.imageSize / g.startSize);
  const ch = (i: number) => Math.min(g.maxChannels, g.channels * 2 ** (stages - 1 - i));
  const fcOut = g.startSize ** 2 * ch(0);
  gp += (g.latentDim + code) * fcOut + fcOut + (g.fcBatchNorm ? 2 * ch(0) : 0);
  for (let i = 0; i < stages; i++) {
    const last = i === stages - 1;
    const out = last ? 3 : ch(i + 1);
    gp += conv(g.kernelSize, ch(i), out) + (last ? 0 : 2 * out);
  }
  let dp = 0;
  let cin = 3;
  const downs = Math.log2(c.imageSize / d.endSize) * (d.layout === 'paired' ? 2 : 1);
  for (let j = 0; j < downs; j++) {
    const cout = Math.min(d.maxChannels, d.channels * 2 ** j);
    dp += conv(d.kernelSize, cin, cout) + (j > 0 ? 2 * cout : 0);
    cin = cout;
  }
  const features = d.endSize ** 2 * cin;
  dp += features + 1 + features * C + C;
  return { g: gp, d: dp };
}

describe('generator and discriminator', () => {
  it.each([32, 64, 128, 256])('test preset at %i: output shapes and parameter counts', (size) => {
    const c = resolveAcganConfig({ preset: 'test', imageSize: size });
    const { g, d } = build(c);
    const B = 2;
    const [img, adv, aux] = tf.tidy(() => {
      const z = tf.zeros([B, c.generator.latentDim]);
      const y = tf.oneHot(tf.tensor1d([0, 7], 'int32'), 8).toFloat();
      const x = g.predict([z, y]) as tf.Tensor;
      const [a, b] = d.predict(x) as tf.Tensor[];
      return [x, a!, b!];
    });
    expect(img.shape).toEqual([B, size, size, 3]);
    expect(adv.shape).toEqual([B, 1]);
    expect(aux.shape).toEqual([B, 8]);
    const range = tf.tidy(() => [tf.min(img).dataSync()[0]!, tf.max(img).dataSync()[0]!]);
    expect(range[0]).toBeGreaterThanOrEqual(-1);
    expect(range[1]).toBeLessThanOrEqual(1);
    const want = expectedParams(c);
    expect(countParams(g).trainable).toBe(want.g);
    expect(countParams(d).trainable).toBe(want.d);
    tf.dispose([img, adv, aux]);
    g.dispose();
    d.dispose();
  });

  it('cpu preset at 64 with CPU_REFERENCE has the PyTorch reference ACGAN parameter counts (torch_reference.py --setup acgan --ngf 32 --ndf 32)', () => {
    const c = resolveAcganConfig({ preset: 'cpu', imageSize: 64, overrides: CPU_REFERENCE });
    const { g, d } = build(c);
    // Printed by the anchor script: paramsG 1514947, paramsD 727913.
    expect(countParams(g).trainable).toBe(1_514_947);
    expect(countParams(d).trainable).toBe(727_913);
    // The same layer shapes: fc 200 → 4·4·256, transposed convs 256→128→64→32→3, convs 3→32→64→128→256.
    const kernels = (m: tf.LayersModel) =>
      m.trainableWeights.filter((w) => w.name.includes('kernel')).map((w) => w.shape.join('x'));
    expect(kernels(g)).toEqual(['8x100', '200x4096', '4x4x128x256', '4x4x64x128', '4x4x32x64', '4x4x3x32']);
    expect(kernels(d)).toEqual(['4x4x3x32', '4x4x32x64', '4x4x64x128', '4x4x128x256', '4096x1', '4096x8']);
    g.dispose();
    d.dispose();
  });

  it('cpu preset at 64 by default: G with 3×3 nearest-conv blocks (7/16 fewer kernel weights than 4×4), D the reference plus a projection matrix', () => {
    const c = resolveAcganConfig({ preset: 'cpu', imageSize: 64 });
    expect(c.generator).toMatchObject({ upsample: 'nearest-conv', kernelSize: 3 });
    expect(c.discriminator.projection).toBe(true);
    expect(c.training.emaDecay).toBe(0.999);
    const { g, d } = build(c);
    // The reference's 4×4 kernels 256→128→64→32→3 become 3×3: 7 · (256·128 + 128·64 + 64·32 + 32·3) fewer.
    expect(countParams(g).trainable).toBe(1_514_947 - 7 * (256 * 128 + 128 * 64 + 64 * 32 + 32 * 3));
    // The projection's E: 8 classes × the 4·4·256 features both heads read.
    expect(countParams(d).trainable).toBe(727_913 + 8 * 4 * 4 * 256);
    g.dispose();
    d.dispose();
  });

  it('bilinearFirst: the first block upsamples bilinearly; bilinearLast n: the last n (the cpu preset: 2); bilinear-conv: all', () => {
    const interpolations = (generator: object) => {
      const c = resolveAcganConfig({ preset: 'cpu', imageSize: 64, overrides: { generator } });
      const { g, d } = build(c);
      const up = g.layers.filter((l) => l instanceof NearestUpConv2D).map((l) => l.interpolation);
      g.dispose();
      d.dispose();
      return up;
    };
    expect(interpolations({})).toEqual(['nearest', 'nearest', 'bilinear', 'bilinear']);
    expect(interpolations({ bilinearLast: 0 })).toEqual(['nearest', 'nearest', 'nearest', 'nearest']);
    expect(interpolations({ bilinearLast: 1, bilinearFirst: true })).toEqual([
      'bilinear',
      'nearest',
      'nearest',
      'bilinear',
    ]);
    expect(interpolations({ upsample: 'bilinear-conv', bilinearLast: 0 })).toEqual([
      'bilinear',
      'bilinear',
      'bilinear',
      'bilinear',
    ]);
  });

  it('thesis preset at 128: parameter counts worked out from the paper table', () => {
    const c = resolveAcganConfig({ preset: 'thesis', imageSize: 128 });
    const { g, d } = build(c);
    const gWant =
      (100 + 8) * 8 * 8 * 768 +
      8 * 8 * 768 + // [z ‖ one-hot] → 8×8×768
      (5 * 5 * 768 * 384 + 384) +
      2 * 384 +
      (5 * 5 * 384 * 192 + 192) +
      2 * 192 +
      (5 * 5 * 192 * 96 + 96) +
      2 * 96 +
      (5 * 5 * 96 * 3 + 3);
    const dWant =
      9 * 3 * 16 +
      16 +
      (9 * 16 * 32 + 32) +
      2 * 32 +
      (9 * 32 * 64 + 64) +
      2 * 64 +
      (9 * 64 * 128 + 128) +
      2 * 128 +
      (9 * 128 * 256 + 256) +
      2 * 256 +
      (9 * 256 * 512 + 512) +
      2 * 512 +
      (16 * 16 * 512 + 1) +
      (16 * 16 * 512 * 8 + 8);
    expect(countParams(g).trainable).toBe(gWant);
    expect(countParams(d).trainable).toBe(dWant);
    g.dispose();
    d.dispose();
  });

  it.each([32, 64])(
    'nearest-conv upsampling at %i: same output shapes and parameter counts as transposed',
    (size) => {
      const c = resolveAcganConfig({
        preset: 'test',
        imageSize: size,
        overrides: { generator: { upsample: 'nearest-conv' } },
      });
      const { g } = build(c);
      const img = tf.tidy(
        () => g.predict([tf.zeros([2, c.generator.latentDim]), tf.oneHot([0, 7], 8).toFloat()]) as tf.Tensor,
      );
      expect(img.shape).toEqual([2, size, size, 3]);
      expect(countParams(g).trainable).toBe(expectedParams(c).g);
      // Each block: 2× nearest then a stride-1 conv, as one layer; no transposed-conv layers left.
      const stages = Math.log2(size / c.generator.startSize);
      for (let i = 1; i <= stages; i++) expect(g.getLayer(`up${i}_upconv`)).toBeInstanceOf(NearestUpConv2D);
      expect(g.layers.filter((l) => l.name.endsWith('_tconv'))).toEqual([]);
      expect(g.getLayer('up1_upconv').outputShape).toEqual([null, 8, 8, generatorChannels(c)[1]]);
      img.dispose();
      g.dispose();
    },
  );

  it('nearest-conv blocks: autodiff gradients (input and kernels) match finite differences', () => {
    // Two of G's upsampling blocks with tanh between them: G's own ReLUs put kinks within any
    // finite step of some pixel, so the check runs on the smooth part, the blocks themselves.
    const input = tf.input({ shape: [3, 3, 4] });
    let h = new NearestUpConv2D({ filters: 3, kernelSize: 3, name: 'up1_upconv' }).apply(
      input,
    ) as tf.SymbolicTensor;
    h = tf.layers.activation({ activation: 'tanh' }).apply(h) as tf.SymbolicTensor;
    h = new NearestUpConv2D({ filters: 2, kernelSize: 3, name: 'up2_upconv' }).apply(h) as tf.SymbolicTensor;
    const net = tf.model({ inputs: input, outputs: h });
    net.setWeights(net.getWeights().map((w, i) => fixedTensor(w.shape, i + 1, 0.5)));
    const x = fixedTensor([2, 3, 3, 4], 11);
    const r = fixedTensor([2, 12, 12, 2], 12);
    const loss = (xx: tf.Tensor) => tf.sum(tf.mul(net.apply(xx) as tf.Tensor, r)) as tf.Scalar;

    const dx = tf.grad(loss)(x);
    expect(worstMismatch(dx.dataSync(), finiteDifferences(loss, x), 1e-3, 1e-2)).toBeLessThan(1);
    for (const name of ['up1_upconv', 'up2_upconv']) {
      const layer = net.getLayer(name);
      const [kernel, bias] = layer.getWeights();
      const auto = tf.variableGrads(() => loss(x), [layer.trainableWeights[0]!.read() as tf.Variable]);
      const numeric = finiteDifferences((k) => {
        layer.setWeights([k, bias!]);
        return loss(x);
      }, kernel!);
      layer.setWeights([kernel!, bias!]);
      const analytic = Object.values(auto.grads)[0]!.dataSync();
      expect(Math.max(...Array.from(analytic, Math.abs))).toBeGreaterThan(0.1);
      expect(worstMismatch(analytic, numeric, 1e-3, 1e-2)).toBeLessThan(1);
      tf.dispose([auto.value, ...Object.values(auto.grads)]);
    }
    tf.dispose([x, r, dx]);
    net.dispose();
  });

  it('projection discriminator: the real/fake logit is the head plus ⟨E·y, φ(x)⟩, worked out by hand', () => {
    const base = resolveAcganConfig({ preset: 'test', imageSize: 32 });
    const c = resolveAcganConfig({
      preset: 'test',
      imageSize: 32,
      overrides: { discriminator: { projection: true } },
    });
    const d = buildDiscriminator(c, new Rng(1));
    const plain = buildDiscriminator(base, new Rng(1));
    const F = 4 * 4 * 32; // the flattened features of the test preset's D
    expect(d.inputs.map((i) => i.shape)).toEqual([
      [null, 32, 32, 3],
      [null, 8],
    ]);
    expect(countParams(d).trainable).toBe(countParams(plain).trainable + 8 * F);
    // Kernels far larger than N(0, 0.02), so that the projection term stands out of the sum.
    d.setWeights(
      d.weights.map((v, i) =>
        v.name.includes('kernel') ? fixedTensor(v.shape as number[], i + 5, 0.3) : v.read(),
      ),
    );
    const embedding = d.getLayer('projection_embedding');
    const x = fixedTensor([3, 32, 32, 3], 6);
    const labels = [2, 5, 7];
    const y = tf.oneHot(labels, 8).toFloat();
    const [adv, aux] = d.predict([x, y]) as tf.Tensor[];
    const phi = tf.model({
      inputs: d.inputs[0]!,
      outputs: d.getLayer('flatten').output as tf.SymbolicTensor,
    });
    const features = (phi.predict(x) as tf.Tensor).arraySync() as number[][];
    const [w, b] = d
      .getLayer('adversarial')
      .getWeights()
      .map((t) => Array.from(t.dataSync()));
    const e = embedding.getWeights()[0]!.arraySync() as number[][];
    const got = adv!.dataSync();
    labels.forEach((label, i) => {
      const f = features[i]!;
      const head = f.reduce((sum, v, j) => sum + v * w![j]!, b![0]!);
      const projection = f.reduce((sum, v, j) => sum + v * e[label]![j]!, 0);
      expect(Math.abs(projection)).toBeGreaterThan(0.01);
      expect(got[i]).toBeCloseTo(head + projection, 4);
    });
    // The class head does not read the label.
    const [, auxOther] = d.predict([x, tf.oneHot([0, 0, 0], 8).toFloat()]) as tf.Tensor[];
    expect(Array.from(auxOther!.dataSync())).toEqual(Array.from(aux!.dataSync()));
    tf.dispose([x, y, adv!, aux!, auxOther!]);
    for (const m of [d, plain]) m.dispose();
  });

  it('the same seed builds the same weights', () => {
    const c = resolveAcganConfig({ preset: 'test', imageSize: 32 });
    const a = buildGenerator(c, new Rng(5));
    const b = buildGenerator(c, new Rng(5));
    const other = buildGenerator(c, new Rng(6));
    const fcKernel = (m: tf.LayersModel) => m.getLayer('fc').getWeights()[0]!.dataSync();
    const wa = fcKernel(a);
    expect(Array.from(fcKernel(b))).toEqual(Array.from(wa));
    expect(Array.from(fcKernel(other))).not.toEqual(Array.from(wa));
    // N(0, 0.02)
    const std = Math.sqrt(Array.from(wa).reduce((s, v) => s + v * v, 0) / wa.length);
    expect(std).toBeGreaterThan(0.017);
    expect(std).toBeLessThan(0.023);
    for (const m of [a, b, other]) m.dispose();
  });
});
