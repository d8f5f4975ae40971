import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bceWithLogits, classAccuracy, signAccuracy, softmaxCrossEntropy } from './losses.js';

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
});
