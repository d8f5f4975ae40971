import { ISIC2019, initBackend } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createResNetClassifier } from '../classifier.js';
import { buildResNetBackbone, countTrainableParams, RESNET_ARCHS } from './resnet.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('ResNet architectures', () => {
  // Reference counts from `sum(p.numel() for p in torchvision.models.<arch>(num_classes=8).parameters())`
  // (torchvision 0.14), i.e. what the PyTorch anchor trains.
  it.each([
    ['resnet18', 11_180_616],
    ['resnet34', 21_288_776],
    ['resnet50', 23_524_424],
  ] as const)('%s has torchvision’s parameter count with an 8-class head', (arch, expected) => {
    const c = createResNetClassifier(arch, { labelSpace: ISIC2019, inputSize: 64 });
    expect(c.trainableParams()).toBe(expected);
    expect(c.spec.featureDim).toBe(arch === 'resnet50' ? 2048 : 512);
    c.dispose();
  });

  it('maps 64² images to pooled features and 8 logits, with the stem and stages at torchvision’s strides', () => {
    const backbone = buildResNetBackbone(RESNET_ARCHS['resnet-small'], 64);
    const shapeOf = (name: string) => backbone.getLayer(name).outputShape;
    expect(shapeOf('conv1_relu')).toEqual([null, 32, 32, 16]);
    expect(shapeOf('pool1_pool')).toEqual([null, 16, 16, 16]);
    expect(shapeOf('conv2_block1_out')).toEqual([null, 16, 16, 16]);
    expect(shapeOf('conv5_block1_out')).toEqual([null, 2, 2, 128]);
    expect(backbone.outputs[0]!.shape).toEqual([null, 128]);
    backbone.dispose();
  });

  it('splits trainable weights into fastai’s three layer groups at torchvision’s layer3', () => {
    const c = createResNetClassifier('resnet18', { labelSpace: ISIC2019, inputSize: 64 });
    const [g0, g1, head] = c.layerGroups();
    const names = (g: tf.LayerVariable[]) => g.map((v) => v.originalName);
    expect(names(g0!).every((n) => /^(conv1|conv2|conv3)_/.test(n))).toBe(true);
    expect(names(g1!).every((n) => /^(conv4|conv5)_/.test(n))).toBe(true);
    expect(names(head!)).toEqual(['logits/kernel', 'logits/bias']);
    const total = [g0!, g1!, head!]
      .flat()
      .reduce((n, v) => n + v.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
    expect(total).toBe(countTrainableParams(c.backbone, c.head));
    c.dispose();
  });

  it('gives the same initial weights for the same seed and different ones for another', () => {
    const w = (seed: number) => {
      const b = buildResNetBackbone(RESNET_ARCHS['resnet-small'], 32, seed);
      const v = b.getLayer('conv2_block1_1_conv').getWeights()[0]!.dataSync().slice(0, 16);
      b.dispose();
      return Array.from(v);
    };
    expect(w(3)).toEqual(w(3));
    expect(w(3)).not.toEqual(w(4));
  });
});
