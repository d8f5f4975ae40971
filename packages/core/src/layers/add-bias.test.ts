import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { addBias, withBias } from './add-bias.js';

describe('addBias', () => {
  it('adds over the last axis with the gradients of x + b, for rank 2 and 4', () => {
    for (const shape of [
      [3, 4],
      [2, 3, 2, 4],
    ]) {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
      const b = tf.tensor1d([1, -2, 0.5, 3]);
      const w = tf.randomNormal(shape, 0, 1, 'float32', 2);
      const f = (fn: (x: tf.Tensor, b: tf.Tensor1D) => tf.Tensor) => (xx: tf.Tensor, bb: tf.Tensor) =>
        tf.sum(tf.mul(fn(xx, bb as tf.Tensor1D), w));
      const [dx, db] = tf.grads(f(addBias))([x, b]);
      const [rx, rb] = tf.grads(f((xx, bb) => tf.add(xx, bb)))([x, b]);
      expect(Array.from(addBias(x, b).dataSync())).toEqual(Array.from(tf.add(x, b).dataSync()));
      expect(Array.from(dx!.dataSync())).toEqual(Array.from(rx!.dataSync()));
      const dbv = db!.dataSync();
      rb!.dataSync().forEach((v, i) => {
        expect(dbv[i]).toBeCloseTo(v, 5);
      });
    }
  });

  it('withBias leaves only its result, and passes through without a bias', () => {
    const x = tf.ones([2, 3]);
    const b = tf.tensor1d([1, 2, 3]);
    const before = tf.memory().numTensors;
    const y = withBias(() => tf.mul(x, 2), b);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(Array.from(y.dataSync())).toEqual([3, 4, 5, 3, 4, 5]);
    const z = withBias(() => tf.mul(x, 2), null);
    expect(Array.from(z.dataSync())).toEqual([2, 2, 2, 2, 2, 2]);
    tf.dispose([x, b, y, z]);
  });
});
