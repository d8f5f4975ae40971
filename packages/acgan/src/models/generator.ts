import type { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { AcganConfig } from '../config.js';
import { NearestUpConv2D } from '../layers/nearest-up-conv.js';
import { batchNorm, log2, normalInit } from './blocks.js';

/** Channels of each feature map of the generator, from the linear layer's to the last hidden block's. */
export function generatorChannels(config: AcganConfig): number[] {
  const g = config.generator;
  const stages = log2(config.imageSize / g.startSize);
  return Array.from({ length: stages }, (_, i) =>
    Math.min(g.maxChannels, g.channels * 2 ** (stages - 1 - i)),
  );
}

/**
 * The ACGAN generator: inputs `noise` [B, latentDim] and `label` [B, classes] (one-hot); output
 * [B, size, size, 3] in [-1, 1].
 *
 *   [z ‖ label code] → linear → startSize² × c₀ (→ BN) → ReLU
 *   → (up k×k → BN → ReLU) × (n − 1) → up k×k to 3 channels → tanh
 *
 * with n = log2(size / startSize), the channels halving per block (`generatorChannels`), and "up" a
 * stride-2 transposed conv (`upsample: 'transposed'`) or 2× nearest or bilinear upsampling +
 * stride-1 conv (`'nearest-conv'`, `'bilinear-conv'`).
 */
export function buildGenerator(config: AcganConfig, rng: Rng): tf.LayersModel {
  const g = config.generator;
  const numClasses = config.labelSpace.classes.length;
  const channels = generatorChannels(config);
  const noise = tf.input({ shape: [g.latentDim], name: 'noise' });
  const label = tf.input({ shape: [numClasses], name: 'label' });

  let code: tf.SymbolicTensor = label;
  if (g.labelEmbedding > 0) {
    // An embedding as one-hot × matrix: differentiable on every backend (gather is not on WASM).
    code = tf.layers
      .dense({
        units: g.labelEmbedding,
        useBias: false,
        kernelInitializer: normalInit(rng),
        name: 'label_embedding',
      })
      .apply(label) as tf.SymbolicTensor;
  }
  let h = tf.layers.concatenate({ name: 'noise_label' }).apply([noise, code]) as tf.SymbolicTensor;
  const s = g.startSize;
  h = tf.layers
    .dense({ units: s * s * channels[0]!, kernelInitializer: normalInit(rng), name: 'fc' })
    .apply(h) as tf.SymbolicTensor;
  h = tf.layers
    .reshape({ targetShape: [s, s, channels[0]!], name: 'fc_reshape' })
    .apply(h) as tf.SymbolicTensor;
  if (g.fcBatchNorm) h = batchNorm('fc_bn').apply(h) as tf.SymbolicTensor;
  h = tf.layers.reLU({ name: 'fc_relu' }).apply(h) as tf.SymbolicTensor;

  channels.forEach((_, i) => {
    const last = i === channels.length - 1;
    const name = `up${i + 1}`;
    const filters = last ? 3 : channels[i + 1]!;
    if (g.upsample === 'transposed') {
      h = tf.layers
        .conv2dTranspose({
          filters,
          kernelSize: g.kernelSize,
          strides: 2,
          padding: 'same',
          kernelInitializer: normalInit(rng),
          name: `${name}_tconv`,
        })
        .apply(h) as tf.SymbolicTensor;
    } else {
      h = new NearestUpConv2D({
        filters,
        kernelSize: g.kernelSize,
        interpolation:
          g.upsample === 'bilinear-conv' ||
          (g.bilinearFirst && i === 0) ||
          i >= channels.length - g.bilinearLast
            ? 'bilinear'
            : 'nearest',
        kernelInitializer: normalInit(rng),
        name: `${name}_upconv`,
      }).apply(h) as tf.SymbolicTensor;
    }
    if (last) {
      h = tf.layers.activation({ activation: 'tanh', name: 'image' }).apply(h) as tf.SymbolicTensor;
    } else {
      h = batchNorm(`${name}_bn`).apply(h) as tf.SymbolicTensor;
      h = tf.layers.reLU({ name: `${name}_relu` }).apply(h) as tf.SymbolicTensor;
    }
  });
  return tf.model({ inputs: [noise, label], outputs: h, name: 'acgan_generator' });
}
