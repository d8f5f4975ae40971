import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adversarialLoss,
  bceWithLogits,
  classAccuracy,
  hingeLoss,
  modeSeekingLoss,
  signAccuracy,
  softmaxCrossEntropy,
} from './losses.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

const value = (t: tf.Tensor) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('losses', () => {
  it('BCE with logits matches −[t·log σ(x) + (1−t)·log(1−σ(x))]', () => {
    const xs = [-3, -0.5, 0, 0.7, 2.5];
    for (const t of [0, 0.9, 1]) {
      const want =
        xs.reduce((s, x) => s - (t * Math.log(sigmoid(x)) + (1 - t) * Math.log(1 - sigmoid(x))), 0) /
        xs.length;
      expect(value(bceWithLogits(tf.tensor2d(xs, [5, 1]), t))).toBeCloseTo(want, 5);
    }
  });

  it('BCE stays finite for saturated logits (log σ would be −inf in float32)', () => {
    expect(value(bceWithLogits(tf.tensor1d([-200]), 1))).toBeCloseTo(200, 3);
    expect(value(bceWithLogits(tf.tensor1d([200]), 0))).toBeCloseTo(200, 3);
    expect(value(bceWithLogits(tf.tensor1d([200]), 1))).toBeCloseTo(0, 6);
  });

  it('hinge: D pays max(0, 1 − x) on real and max(0, 1 + x) on fake logits, G pays −x', () => {
    const xs = tf.tensor2d([-3, -0.5, 0, 0.7, 2.5], [5, 1]);
    // real: 4 + 1.5 + 1 + 0.3 + 0 = 6.8; fake: 0 + 0.5 + 1 + 1.7 + 3.5 = 6.7; G: −(−0.3)/5.
    expect(value(hingeLoss(xs, 1))).toBeCloseTo(6.8 / 5, 6);
    expect(value(hingeLoss(xs, -1))).toBeCloseTo(6.7 / 5, 6);
    const hinge = adversarialLoss({ adversarialLoss: 'hinge', generatorLoss: 'minimax', realLabel: 0.9 });
    expect(value(hinge.real(xs))).toBeCloseTo(1.36, 6);
    expect(value(hinge.fake(xs))).toBeCloseTo(1.34, 6);
    expect(value(hinge.generator(xs))).toBeCloseTo(0.06, 6);
    // The gradient of D's fake term: 1/5 where 1 + x > 0 (three logits), else 0.
    const g = tf.grad((x: tf.Tensor) => hinge.fake(x))(xs);
    expect(Array.from(g.dataSync())).toEqual([0, 0.2, 0.2, 0.2, 0.2].map(Math.fround));
    tf.dispose([xs, g]);
  });

  it('bce keeps the paper objective: realLabel on real, non-saturating or minimax for G', () => {
    const xs = tf.tensor2d([-1, 0.5], [2, 1]);
    const logSig = (x: number) => Math.log(sigmoid(x));
    const log1mSig = (x: number) => Math.log(1 - sigmoid(x));
    const bce = (t: number) =>
      -(t * (logSig(-1) + logSig(0.5)) + (1 - t) * (log1mSig(-1) + log1mSig(0.5))) / 2;
    const nonSat = adversarialLoss({
      adversarialLoss: 'bce',
      generatorLoss: 'non-saturating',
      realLabel: 0.9,
    });
    const minimax = adversarialLoss({ adversarialLoss: 'bce', generatorLoss: 'minimax', realLabel: 0.9 });
    expect(value(nonSat.real(xs))).toBeCloseTo(bce(0.9), 6);
    expect(value(nonSat.fake(xs))).toBeCloseTo(bce(0), 6);
    expect(value(nonSat.generator(xs))).toBeCloseTo(bce(1), 6);
    expect(value(minimax.generator(xs))).toBeCloseTo(-bce(0), 6);
    xs.dispose();
  });

  it('softmax cross-entropy matches −log softmax(x)[target]', () => {
    const logits = [
      [1, 2, 3],
      [0.5, -1, 0],
    ];
    const targets = [2, 0];
    const want =
      targets.reduce((s, t, i) => {
        const row = logits[i]!;
        const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
        return s + (lse - row[t]!);
      }, 0) / 2;
    const oneHot = tf.oneHot(tf.tensor1d(targets, 'int32'), 3).toFloat() as tf.Tensor2D;
    expect(value(softmaxCrossEntropy(tf.tensor2d(logits), oneHot))).toBeCloseTo(want, 5);
    expect(value(classAccuracy(tf.tensor2d(logits), oneHot))).toBe(1);
    oneHot.dispose();
  });

  it('accuracies count the right side of the decision boundary', () => {
    const logits = tf.tensor2d([2, -1, 0.5, -3], [4, 1]);
    expect(value(signAccuracy(logits, true))).toBe(0.5);
    expect(value(signAccuracy(logits, false))).toBe(0.5);
    const aux = tf.tensor2d([
      [0, 1],
      [1, 0],
      [0, 1],
    ]);
    const targets = tf.oneHot(tf.tensor1d([1, 1, 0], 'int32'), 2).toFloat() as tf.Tensor2D;
    expect(value(classAccuracy(aux, targets))).toBeCloseTo(1 / 3, 6);
    tf.dispose([logits, aux, targets]);
  });
  it('mode seeking: 1 / (mean|G(z₁) − G(z₂)| / mean|z₁ − z₂| + ε) over the halves of the batch', () => {
    // Pairs (row 0, row 2) and (row 1, row 3); the fifth row has no partner and is left out.
    const fakes = tf.tensor4d([0, 1, 2, 3, 9], [5, 1, 1, 1]);
    const z = tf.tensor2d([0, 0, 1, 1, 2, 0, 1, 3, 5, 5], [5, 2]);
    // |0 − 2| + |1 − 3| = 4 over 2 → 2; z: |0−2| + |0−0| + |1−1| + |1−3| = 4 over 4 → 1.
    expect(value(modeSeekingLoss(fakes, z))).toBeCloseTo(1 / (2 / 1 + 1e-5), 6);
    // Identical images for different noise (collapse) cost 1/ε; G's gradient pushes the pair apart.
    const same = tf.tensor4d([1, 1], [2, 1, 1, 1]);
    const z2 = tf.tensor2d([0, 1], [2, 1]);
    expect(value(modeSeekingLoss(same, z2, 0.5))).toBeCloseTo(2, 6);
    const grad = tf.grad((x: tf.Tensor) => modeSeekingLoss(x as tf.Tensor4D, tf.tensor2d([0, 1], [2, 1])))(
      tf.tensor4d([0, 1], [2, 1, 1, 1]),
    );
    // loss = 1/(|a − b| + ε) with a = 0, b = 1: d/da = 1/(1 + ε)² · sign(b − a) = +1, d/db = −1.
    const g = Array.from(grad.dataSync());
    expect(g[0]).toBeCloseTo(1 / (1 + 1e-5) ** 2, 4);
    expect(g[1]).toBeCloseTo(-1 / (1 + 1e-5) ** 2, 4);
    tf.dispose([fakes, z, same, z2, grad]);
  });
});
