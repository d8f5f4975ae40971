#!/usr/bin/env node
// The cost of each generator-quality option of @skingan/acgan (issue 16): CPU ms per training step
// of the `cpu` preset's PyTorch reference architecture (ACGAN_CPU_REFERENCE: the preset before
// issue 16) at 64² (batch 32, random images, AcganTrainer.trainStep), each option alone and all
// together against that reference; the variants with a `preset` run over that preset's defaults. The variants take turns, ROUNDS (2) times STEPS (10)
// steps each, in one process on one WASM thread; CPU time holds up on a shared machine where wall
// time does not (VARIANTS: a comma-separated subset). Build first (`pnpm turbo run build --filter=@skingan/acgan`), then
// `node tools/bench/acgan-options.mjs`.
import { ACGAN_CPU_REFERENCE, AcganTrainer, resolveAcganConfig } from '@skingan/acgan';
import { initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

await initBackend({ backend: 'wasm', threads: 1, log: (l) => process.stderr.write(`${l}\n`) });
const SIZE = 64;
const variants = {
  baseline: {},
  'nearest-conv k4': { generator: { upsample: 'nearest-conv' } },
  'nearest-conv k3': { generator: { upsample: 'nearest-conv', kernelSize: 3 } },
  'bilinear-conv k3': { generator: { upsample: 'bilinear-conv', kernelSize: 3 } },
  'nearest-conv k3 + bilinear first': {
    generator: { upsample: 'nearest-conv', kernelSize: 3, bilinearFirst: true },
  },
  'nearest-conv k3 + bilinear last two': {
    generator: { upsample: 'nearest-conv', kernelSize: 3, bilinearLast: 2 },
  },
  'ema 0.999': { training: { emaDecay: 0.999 } },
  hinge: { training: { adversarialLoss: 'hinge' } },
  'spectral norm': { discriminator: { spectralNorm: true } },
  projection: { discriminator: { projection: true } },
  // Over a preset's defaults instead of the reference (at the preset's size).
  'cpu-128': { preset: 'cpu-128' },
  'cpu-128 bilinear': { preset: 'cpu-128', generator: { upsample: 'bilinear-conv' } },
  'all (k3)': {
    generator: { upsample: 'nearest-conv', kernelSize: 3 },
    discriminator: { spectralNorm: true, projection: true },
    training: { emaDecay: 0.999, adversarialLoss: 'hinge' },
  },
};
// VARIANTS=baseline,"nearest-conv k3" times only those (the first is the ratios' base).
for (const k of Object.keys(variants)) {
  if (process.env.VARIANTS && !process.env.VARIANTS.split(',').includes(k)) delete variants[k];
}
const rounds = Number(process.env.ROUNDS ?? 2);
const steps = Number(process.env.STEPS ?? 10);
const cpu = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
const wall = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, overrides] of Object.entries(variants)) {
    // Each option over the PyTorch reference architecture (the cpu preset before issue 16), or over
    // the named preset's defaults.
    const { preset, ...over } = overrides;
    const config = preset
      ? resolveAcganConfig({ preset, overrides: over })
      : resolveAcganConfig({
          preset: 'cpu',
          imageSize: SIZE,
          overrides: {
            generator: { ...ACGAN_CPU_REFERENCE.generator, ...over.generator },
            discriminator: { ...ACGAN_CPU_REFERENCE.discriminator, ...over.discriminator },
            training: { ...ACGAN_CPU_REFERENCE.training, ...over.training },
          },
        });
    const size = config.imageSize;
    const trainer = await AcganTrainer.create({ config });
    const B = config.training.batchSize;
    const rng = new Rng(0);
    const step = async () => {
      const images = rng.uniformTensor([B, size, size, 3], -1, 1);
      const labels = tf.tensor1d(
        Array.from({ length: B }, () => rng.int(8)),
        'int32',
      );
      try {
        await trainer.trainStep(images, labels);
      } finally {
        tf.dispose([images, labels]);
      }
    };
    await step();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step();
    const c = process.cpuUsage(c0);
    cpu[name].push((c.user + c.system) / 1000 / steps);
    wall[name].push((performance.now() - t0) / steps);
    trainer.dispose();
    process.stderr.write(
      `round ${r} ${name}: cpu ${cpu[name].at(-1).toFixed(0)} ms/step, wall ${wall[name].at(-1).toFixed(0)}\n`,
    );
  }
}
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const base = sum(Object.values(cpu)[0]);
for (const k of Object.keys(variants)) {
  console.log(
    `${k.padEnd(16)} cpu ${(sum(cpu[k]) / rounds).toFixed(0)} ms/step (rounds ${cpu[k].map((x) => x.toFixed(0)).join(', ')}), ratio ${(sum(cpu[k]) / base).toFixed(2)}; wall ${(sum(wall[k]) / rounds).toFixed(0)}`,
  );
}
