import { initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { fuseBatchNorm } from './batch-norm.js';
import { buildResNetBackbone, RESNET_ARCHS } from './resnet.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

const make = () => buildResNetBackbone(RESNET_ARCHS['resnet-small'], 32, 1);

/** One training-mode pass: the output, every trainable weight's gradient, then every weight after. */
function trainingPass(model: tf.LayersModel, images: tf.Tensor4D) {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const y = model.apply(images, { training: true }) as tf.Tensor;
    return tf.sum(tf.mul(y, tf.range(1, y.size + 1).reshape(y.shape)));
  }, vars);
  const out = [value, ...vars.map((v) => grads[v.name]!)].map((t) => Array.from(t.dataSync()));
  tf.dispose([value, ...Object.values(grads)]);
  return { out, weights: model.getWeights().map((w) => Array.from(w.dataSync())) };
}

function expectClose(actual: number[][], expected: number[][], tol: number) {
  expected.forEach((e, i) => {
    const scale = e.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-6);
    const worst = e.reduce((m, v, j) => Math.max(m, Math.abs(v - actual[i]![j]!)), 0);
    expect(worst / scale).toBeLessThan(tol);
  });
}

describe('fuseBatchNorm', () => {
  it("trains a ResNet with Keras' values: output, gradients and running statistics", () => {
    const model = make();
    const keras = make();
    keras.setWeights(model.getWeights());
    const initial = model.getWeights().map((w) => Array.from(w.dataSync()));
    const names = fuseBatchNorm(model);
    expect(names).toEqual(
      model.layers.filter((l) => l.getClassName() === 'BatchNormalization').map((l) => l.name),
    );
    expect(names.length).toBeGreaterThan(5);
    expect(fuseBatchNorm(model)).toEqual([]); // once per layer
    const images = new Rng(2).uniformTensor<tf.Rank.R4>([4, 32, 32, 3], -1, 1);
    const fused = trainingPass(model, images);
    const reference = trainingPass(keras, images);
    expectClose(fused.out, reference.out, 1e-4);
    // the moving means and variances moved, identically
    expectClose(fused.weights, reference.weights, 1e-5);
    expect(fused.weights).not.toEqual(initial);
    images.dispose();
    model.dispose();
    keras.dispose();
  });

  it('leaves inference bit-identical and leaks nothing', () => {
    const model = make();
    const keras = make();
    keras.setWeights(model.getWeights());
    fuseBatchNorm(model);
    const images = new Rng(3).uniformTensor<tf.Rank.R4>([2, 32, 32, 3], -1, 1);
    const [a, b] = [model, keras].map((m) => m.predict(images) as tf.Tensor);
    expect(Array.from(a!.dataSync())).toEqual(Array.from(b!.dataSync()));
    tf.dispose([a!, b!]);
    trainingPass(model, images);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 2; i++) trainingPass(model, images);
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
    model.dispose();
    keras.dispose();
  });
});
