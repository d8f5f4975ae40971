import { AdamW, initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveAcganConfig } from '../config.js';
import { tinyConfig } from '../test-utils/tiny-config.js';
import { AcganTrainer } from './trainer.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe("ACGAN's optimizers", () => {
  it('are AdamW without weight decay at the configured Adam settings', async () => {
    const trainer = await AcganTrainer.create({ config: tinyConfig() });
    const t = trainer.config.training;
    expect(trainer.optimizerG.getConfig()).toEqual({
      lr: t.learningRateG,
      beta1: t.beta1,
      beta2: t.beta2,
      epsilon: 1e-8,
      weightDecay: 0,
    });
    expect(trainer.optimizerD.getConfig()).toMatchObject({ lr: t.learningRateD, weightDecay: 0 });
    trainer.dispose();
  });

  it('update as tf.train.adam(lr, β₁, β₂, 1e-8) did before AdamW, to float32 rounding (default settings, 5 steps)', () => {
    const t = resolveAcganConfig({}).training; // Adam(2e-4, 0.5, 0.999)
    const start = [0.3, -0.02, 0.5, -1.2, 0.04, 0];
    const old = tf.variable(tf.tensor1d(start));
    const now = tf.variable(tf.tensor1d(start));
    const before = tf.train.adam(t.learningRateG, t.beta1, t.beta2, 1e-8);
    const after = new AdamW([now], { lr: t.learningRateG, beta1: t.beta1, beta2: t.beta2, epsilon: 1e-8 });
    for (let step = 1; step <= 5; step++) {
      const g = tf.tensor1d(start.map((x, i) => 0.1 * Math.sin(step * (i + 1)) + 0.01 * x));
      before.applyGradients([{ name: old.name, tensor: g }]);
      after.applyGradients({ [now.name]: g });
      g.dispose();
      const [a, b] = [old.dataSync(), now.dataSync()];
      // A few float32 ulps of the parameter: tfjs divides m and v by their corrections separately.
      a.forEach((x, i) => {
        expect(Math.abs(b[i]! - x)).toBeLessThanOrEqual(4 * 2 ** -24 * Math.max(1, Math.abs(x)));
      });
    }
    tf.dispose([old, now]);
    before.dispose();
    after.dispose();
  });
});
