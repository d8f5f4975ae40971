import { AdamW, adamStep, initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FASTAI_ADAM, fastaiParamGroups } from './adam.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** One dense layer of one weight and one bias, both 1; fastai's Adam over it, lr 0.1. */
function setup() {
  const model = tf.sequential({
    layers: [
      tf.layers.dense({
        units: 1,
        inputShape: [1],
        kernelInitializer: 'ones',
        biasInitializer: 'ones',
        name: 'd',
      }),
    ],
  });
  const groups = fastaiParamGroups([model.trainableWeights]);
  const opt = new AdamW(
    groups.map((g) => ({ ...g, lr: 0.1 })),
    {
      beta1: FASTAI_ADAM.mom,
      beta2: FASTAI_ADAM.sqrMom,
      epsilon: FASTAI_ADAM.eps,
      weightDecay: FASTAI_ADAM.wd,
    },
  );
  const [w, b] = groups[0]!.variables as [tf.Variable, tf.Variable];
  return { model, groups, opt, w, b };
}

describe("fastai's Adam on AdamW", () => {
  it('groups per layer group, biases and BatchNorm without weight decay', () => {
    const { model, groups, opt } = setup();
    expect(groups).toHaveLength(1);
    expect(groups[0]!.variables.map((v) => v.name)).toEqual(
      model.trainableWeights.map((w) => (w.read() as tf.Variable).name),
    );
    expect(groups[0]!.noDecay!.map((v) => v.name)).toEqual([
      (model.trainableWeights[1]!.read() as tf.Variable).name,
    ]);
    opt.dispose();
    model.dispose();
  });

  it('follows fastai’s Adam with decoupled weight decay, step by step, with β1 changing between steps', () => {
    const { model, opt, w, b } = setup();
    const step = (g: number, mom: number) => {
      const gw = tf.tensor2d([[g]]);
      const gb = tf.tensor1d([g]);
      opt.beta1 = mom;
      opt.applyGradients({ [w.name]: gw, [b.name]: gb });
      tf.dispose([gw, gb]);
    };
    // Step 1 (mom .9, g = .5), by hand: p ← p(1 − lr·wd) = .999; avg = .1·.5 = .05; sqr = .01·.25 = .0025;
    // debias1 = 1 − .9 = .1, debias2 = 1 − .99 = .01; p ← p − (lr/.1)·.05/(√(.0025/.01) + 1e-5).
    step(0.5, 0.9);
    const w1 = 0.999 - (0.1 / 0.1) * (0.05 / (Math.sqrt(0.0025 / 0.01) + 1e-5));
    const b1 = 1 - (0.1 / 0.1) * (0.05 / (Math.sqrt(0.0025 / 0.01) + 1e-5));
    expect(w.dataSync()[0]).toBeCloseTo(w1, 6);
    expect(b.dataSync()[0]).toBeCloseTo(b1, 6);

    // Step 2 (mom .85, g = −.2): avg = .85·.05 + .15·(−.2) = .0125; sqr = .99·.0025 + .01·.04 = .002875;
    // debias1 = 1 − .85² (fastai: the current β1 to the power t), debias2 = 1 − .99².
    step(-0.2, 0.85);
    const upd = (0.1 / (1 - 0.85 ** 2)) * (0.0125 / (Math.sqrt(0.002875 / (1 - 0.99 ** 2)) + 1e-5));
    expect(w.dataSync()[0]).toBeCloseTo(w1 * (1 - 0.1 * 0.01) - upd, 6);
    expect(b.dataSync()[0]).toBeCloseTo(b1 - upd, 6);
    opt.dispose();
    model.dispose();
  });

  it('updates bit for bit as FastaiAdam did before AdamW (its formula: adamStep with decay 1 − lr·wd)', () => {
    const { model, opt, w } = setup();
    let [p, m, v]: tf.Tensor[] = [w.clone(), tf.zerosLike(w), tf.zerosLike(w)];
    const moms = [0.95, 0.9, 0.85, 0.8];
    moms.forEach((mom, k) => {
      const t = k + 1;
      const g = tf.tensor2d([[0.3 * Math.sin(t) + 0.1]]);
      opt.beta1 = mom;
      opt.groups[0]!.lr = 0.1 / t;
      opt.applyGradients({ [w.name]: g });
      const lr = 0.1 / t;
      const next = adamStep(p!, g, m!, v!, {
        beta1: mom,
        beta2: FASTAI_ADAM.sqrMom,
        eps: FASTAI_ADAM.eps,
        sqrtScale: 1 / Math.sqrt(1 - FASTAI_ADAM.sqrMom ** t),
        stepSize: lr / (1 - mom ** t),
        decay: 1 - lr * FASTAI_ADAM.wd,
      });
      tf.dispose([p!, m!, v!, g]);
      [p, m, v] = next;
      expect(Array.from(w.dataSync())).toEqual(Array.from(p.dataSync()));
    });
    tf.dispose([p!, m!, v!]);
    opt.dispose();
    model.dispose();
  });
});
