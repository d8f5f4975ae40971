import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { adamParams, FastaiAdam } from './adam.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** Two one-weight layers: `w` decays, `b` (a bias) does not. */
function params() {
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
  return { model, list: adamParams([model.trainableWeights]) };
}

describe('FastaiAdam', () => {
  it('follows fastai’s Adam with decoupled weight decay, step by step, with β1 changing between steps', async () => {
    const { model, list } = params();
    expect(list.map((p) => [p.variable.originalName, p.decay])).toEqual([
      ['d/kernel', true],
      ['d/bias', false],
    ]);
    const opt = new FastaiAdam(list);
    const hyp = { lr: [0.1], sqrMom: 0.99, eps: 1e-5, wd: 0.01 };
    const grads = (g: number) =>
      new Map<number, tf.Tensor>([
        [0, tf.tensor2d([[g]])],
        [1, tf.tensor1d([g])],
      ]);

    // Step 1 (mom .9, g = .5), by hand: p ← p(1 − lr·wd) = .999; avg = .1·.5 = .05; sqr = .01·.25 = .0025;
    // debias1 = 1 − .9 = .1, debias2 = 1 − .99 = .01; p ← p − (lr/.1)·.05/(√(.0025/.01) + 1e-5).
    const g1 = grads(0.5);
    opt.step(g1, { ...hyp, mom: 0.9 });
    const w1 = 0.999 - (0.1 / 0.1) * (0.05 / (Math.sqrt(0.0025 / 0.01) + 1e-5));
    const b1 = 1 - (0.1 / 0.1) * (0.05 / (Math.sqrt(0.0025 / 0.01) + 1e-5));
    expect(model.getWeights()[0]!.dataSync()[0]).toBeCloseTo(w1, 6);
    expect(model.getWeights()[1]!.dataSync()[0]).toBeCloseTo(b1, 6);

    // Step 2 (mom .85, g = −.2): avg = .85·.05 + .15·(−.2) = .0125; sqr = .99·.0025 + .01·.04 = .002875;
    // debias1 = 1 − .85², debias2 = 1 − .99².
    const g2 = grads(-0.2);
    opt.step(g2, { ...hyp, mom: 0.85 });
    const upd = (0.1 / (1 - 0.85 ** 2)) * (0.0125 / (Math.sqrt(0.002875 / (1 - 0.99 ** 2)) + 1e-5));
    expect(model.getWeights()[0]!.dataSync()[0]).toBeCloseTo(w1 * (1 - 0.1 * 0.01) - upd, 6);
    expect(model.getWeights()[1]!.dataSync()[0]).toBeCloseTo(b1 - upd, 6);
    tf.dispose([...g1.values(), ...g2.values()]);
    opt.dispose();
    model.dispose();
  });

  it('leaves parameters without a gradient (frozen) untouched and their step count at zero', async () => {
    const { model, list } = params();
    const opt = new FastaiAdam(list);
    const g = new Map([[1, tf.tensor1d([1])]]);
    opt.step(g, { lr: [0.1], mom: 0.9, sqrMom: 0.99, eps: 1e-5, wd: 0.01 });
    expect(model.getWeights()[0]!.dataSync()[0]).toBe(1);
    expect(model.getWeights()[1]!.dataSync()[0]).not.toBe(1);
    const counters = (await opt.getWeights()).find((w) => w.name === 'counters')!;
    expect(Array.from(counters.tensor.dataSync())).toEqual([1, 0, 1]);
    tf.dispose([...g.values()]);
    opt.dispose();
    model.dispose();
  });

  it('restores its state into a fresh optimizer so the next step is identical, without leaking tensors', async () => {
    const run = async (restoreFrom?: { name: string; tensor: tf.Tensor }[]) => {
      const { model, list } = params();
      const opt = new FastaiAdam(list, { lr: [0.05] });
      if (restoreFrom) {
        model.setWeights(restoreFrom.slice(0, 2).map((w) => w.tensor));
        await opt.setWeights(restoreFrom.slice(2));
      }
      return { model, opt };
    };
    const a = await run();
    const g = new Map<number, tf.Tensor>([
      [0, tf.tensor2d([[0.3]])],
      [1, tf.tensor1d([-0.7])],
    ]);
    a.opt.step(g);
    a.opt.step(g);
    await a.opt.getWeights(); // creates its counters variable once
    const before = tf.memory().numTensors;
    await a.opt.getWeights();
    await a.opt.getWeights();
    expect(tf.memory().numTensors).toBe(before);
    const saved = [
      ...a.model.getWeights().map((t, i) => ({ name: `w${i}`, tensor: t.clone() })),
      ...(await a.opt.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() })),
    ];
    const b = await run(saved);
    a.opt.step(g);
    b.opt.step(g);
    expect(Array.from(b.model.getWeights()[0]!.dataSync())).toEqual(
      Array.from(a.model.getWeights()[0]!.dataSync()),
    );
    expect(Array.from(b.model.getWeights()[1]!.dataSync())).toEqual(
      Array.from(a.model.getWeights()[1]!.dataSync()),
    );
    expect(b.opt.iterations).toBe(a.opt.iterations);
    tf.dispose([...g.values(), ...saved.map((s) => s.tensor)]);
    for (const x of [a, b]) {
      x.opt.dispose();
      x.model.dispose();
    }
  });
});
