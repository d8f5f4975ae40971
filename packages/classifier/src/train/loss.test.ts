import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { probabilitiesCsv } from '../eval/predict.js';
import { balancedClassWeights, crossEntropy } from './loss.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('cross-entropy', () => {
  // Row 0: logits (0, ln 3) → p(class 1) = 3/4; row 1: (ln 2, 0) → p(class 0) = 2/3.
  const logits = () =>
    tf.tensor2d([
      [0, Math.log(3)],
      [Math.log(2), 0],
    ]);
  const labels = () => tf.tensor1d([1, 0], 'int32');

  it('is the mean negative log-probability of the true class', () => {
    const l = crossEntropy(logits(), labels());
    expect(l.dataSync()[0]).toBeCloseTo((-Math.log(3 / 4) - Math.log(2 / 3)) / 2, 6);
  });

  it('with class weights is Σ w[y]·nll / Σ w[y], as PyTorch’s CrossEntropyLoss(weight=…)', () => {
    const l = crossEntropy(logits(), labels(), tf.tensor1d([3, 1]));
    expect(l.dataSync()[0]).toBeCloseTo((1 * -Math.log(3 / 4) + 3 * -Math.log(2 / 3)) / (1 + 3), 6);
  });

  it('balanced weights are n / (k · count), 0 for an absent class', () => {
    expect(balancedClassWeights([0, 0, 0, 1], 3)).toEqual([4 / 6, 2, 0]);
    expect(() => balancedClassWeights([0, 5], 3)).toThrow(/outside the 3 classes/);
  });
});

describe('probability CSV', () => {
  it('writes image,<class…> with one row per image', () => {
    const csv = probabilitiesCsv(
      {
        ids: ['a', 'b'],
        labels: [0, 1],
        probs: [
          [0.25, 0.75],
          [1, 0],
        ],
      },
      ['MEL', 'NV'],
    );
    expect(csv).toBe('image,MEL,NV\na,0.250000,0.750000\nb,1.00000,0.00000\n');
  });
});
