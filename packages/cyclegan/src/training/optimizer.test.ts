import { adamStep, initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { CycleGanTrainer } from './trainer.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe("CycleGAN's optimizers", () => {
  it('are AdamW without weight decay, ε 1e-8, at the configured lr and β', () => {
    const config = resolveConfig(undefined, { size: 24, loadSize: 28, ngf: 4, ndf: 4, blocks: 1 });
    const trainer = new CycleGanTrainer(config);
    const want = { lr: config.lr, beta1: config.beta1, beta2: config.beta2, epsilon: 1e-8, weightDecay: 0 };
    expect(trainer.optG.getConfig()).toEqual(want);
    expect(trainer.optD.getConfig()).toEqual(want);
    // The linear decay sets the rate of both.
    const lr = trainer.setEpoch(config.epochs - 1);
    expect([trainer.optG.learningRate, trainer.optD.learningRate]).toEqual([lr, lr]);
    trainer.dispose();
  });

  it('update bit for bit as CycleGAN’s own Adam did before AdamW (its formula, default settings, 5 steps)', () => {
    const config = resolveConfig(undefined, { size: 24, loadSize: 28, ngf: 4, ndf: 4, blocks: 1 });
    const trainer = new CycleGanTrainer(config);
    const x = trainer.optG.groups[0]!.variables[0]!;
    const start: tf.Tensor = x.clone();
    // The old update: adamStep with lr/(1 − β₁ᵗ) and 1/√(1 − β₂ᵗ) from the step count.
    let [p, m, v]: tf.Tensor[] = [start.clone(), tf.zerosLike(start), tf.zerosLike(start)];
    for (let t = 1; t <= 5; t++) {
      const g = tf.tidy(() => tf.sin(tf.mul(start, t)));
      trainer.optG.applyGradients({ [x.name]: g });
      const next = adamStep(p!, g, m!, v!, {
        beta1: config.beta1,
        beta2: config.beta2,
        eps: 1e-8,
        sqrtScale: 1 / Math.sqrt(1 - config.beta2 ** t),
        stepSize: config.lr / (1 - config.beta1 ** t),
      });
      tf.dispose([p!, m!, v!, g]);
      [p, m, v] = next;
      expect(Array.from(x.dataSync())).toEqual(Array.from(p!.dataSync()));
    }
    tf.dispose([start, p!, m!, v!]);
    trainer.dispose();
  });
});
