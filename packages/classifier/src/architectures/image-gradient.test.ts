import { initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipImageGradient } from './image-gradient.js';
import { buildResNetBackbone, RESNET_ARCHS } from './resnet.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** The output, the gradients of a loss for every trainable weight, and the kernels run for them. */
async function forwardAndGrads(model: tf.LayersModel, images: tf.Tensor4D) {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let values: number[][] = [];
  const profile = await tf.profile(() => {
    const { value, grads } = tf.variableGrads(() => {
      const y = model.apply(images, { training: true }) as tf.Tensor;
      return tf.sum(tf.mul(y, tf.range(1, y.size + 1).reshape(y.shape)));
    }, vars);
    values = [value, ...vars.map((v) => grads[v.name]!)].map((t) => Array.from(t.dataSync()));
    tf.dispose([value, ...Object.values(grads)]);
  });
  const count = (name: string) => profile.kernels.filter((k) => k.name === name).length;
  return { values, inputGrads: count('Conv2DBackpropInput'), filterGrads: count('Conv2DBackpropFilter') };
}

/** A copy of `model` with the same weights. */
function twin(make: () => tf.LayersModel, of: tf.LayersModel): tf.LayersModel {
  const copy = make();
  copy.setWeights(of.getWeights());
  return copy;
}

describe('skipImageGradient', () => {
  it("skips a ResNet stem's image gradient, and changes no value", async () => {
    const make = () => buildResNetBackbone(RESNET_ARCHS['resnet-small'], 32, 1);
    const model = make();
    const plain = twin(make, model);
    expect(skipImageGradient(model)).toEqual(['conv1_conv']);
    expect(skipImageGradient(model)).toEqual([]); // once per layer
    const images = new Rng(2).uniformTensor<tf.Rank.R4>([2, 32, 32, 3], -1, 1);
    const before = await forwardAndGrads(plain, images);
    const after = await forwardAndGrads(model, images);
    // every conv's filter gradient, and every input gradient but the stem's
    expect(after.filterGrads).toBe(before.filterGrads);
    expect(before.inputGrads).toBe(before.filterGrads);
    expect(after.inputGrads).toBe(before.inputGrads - 1);
    expect(after.values).toEqual(before.values);
    tf.dispose([images]);
    model.dispose();
    plain.dispose();
  });

  // tfjs fuses a linear convolution under a gradient (a nonlinear one runs as conv, add, activation,
  // whose input gradient tfjs already skips): the first layer here is linear with a bias.
  it('reaches through layers without weights, keeps the bias, and stops at the first trained layer', async () => {
    const make = () => {
      const input = tf.input({ shape: [6, 6, 3] });
      let x = tf.layers.zeroPadding2d({ padding: 1, name: 'pad' }).apply(input) as tf.SymbolicTensor;
      const init = (seed: number) => tf.initializers.glorotUniform({ seed });
      x = tf.layers
        .conv2d({ filters: 4, kernelSize: 3, name: 'first', kernelInitializer: init(1) })
        .apply(x) as tf.SymbolicTensor;
      x = tf.layers
        .conv2d({ filters: 2, kernelSize: 3, activation: 'relu', name: 'second', kernelInitializer: init(2) })
        .apply(x) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: x });
    };
    const model = make();
    // non-zero biases, so that a dropped bias would show
    model
      .getLayer('first')
      .setWeights([model.getLayer('first').getWeights()[0]!, tf.tensor1d([0.5, -1, 2, 0])]);
    const plain = twin(make, model);
    expect(skipImageGradient(model)).toEqual(['first']);
    const images = new Rng(3).uniformTensor<tf.Rank.R4>([1, 6, 6, 3], -1, 1);
    const before = await forwardAndGrads(plain, images);
    const after = await forwardAndGrads(model, images);
    expect(after.inputGrads).toBe(before.inputGrads - 1);
    for (let i = 0; i < before.values.length; i++) {
      before.values[i]!.forEach((v, j) => {
        expect(after.values[i]![j]).toBeCloseTo(v, 4);
      });
    }
    tf.dispose(images);
    model.dispose();
    plain.dispose();
  });
});
