import type { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { AcganConfig } from '../config.js';
import { Conv2D } from '../layers/conv2d.js';
import { Dense } from '../layers/dense.js';
import { SeededDropout } from '../layers/seeded-dropout.js';
import { batchNorm, log2, normalInit } from './blocks.js';

export interface ConvSpec {
  filters: number;
  strides: number;
}

/** The discriminator's convolutions in order: stride-2 downsamples, each followed by a stride-1 conv when `paired`. */
export function discriminatorConvs(config: AcganConfig): ConvSpec[] {
  const d = config.discriminator;
  const stages = log2(config.imageSize / d.endSize);
  const strides = Array.from({ length: stages }, () => (d.layout === 'paired' ? [2, 1] : [2])).flat();
  return strides.map((s, j) => ({ filters: Math.min(d.maxChannels, d.channels * 2 ** j), strides: s }));
}

/**
 * The ACGAN discriminator: input `image` [B, size, size, 3] (and with `projection` the one-hot
 * `label` [B, classes]); outputs the real/fake logit [B, 1] and the class logits [B, classes].
 *
 *   (conv k×k (→ BN except the first) → leaky ReLU → dropout) × m → flatten → { linear 1, linear C }
 *
 * With `spectralNorm`, every conv and both linear heads compute with their spectrally normalised
 * kernels (`SpectralNorm`; the trainer runs one power iteration per step). With `projection`
 * (Miyato and Koyama 2018) the real/fake logit gains ⟨E·y, φ(x)⟩: φ(x) the flattened features, y
 * the one-hot label, E a learned [classes × features] embedding (no bias).
 */
export function buildDiscriminator(config: AcganConfig, rng: Rng): tf.LayersModel {
  const d = config.discriminator;
  const numClasses = config.labelSpace.classes.length;
  const image = tf.input({ shape: [config.imageSize, config.imageSize, 3], name: 'image' });
  let h: tf.SymbolicTensor = image;
  // Only drawn with spectral norm on, so that the weights of a config without it do not change.
  const sn = () => (d.spectralNorm ? { spectralNorm: true, spectralNormInitializer: normalInit(rng) } : {});
  discriminatorConvs(config).forEach((spec, j) => {
    const name = `conv${j + 1}`;
    h = new Conv2D({
      filters: spec.filters,
      kernelSize: d.kernelSize,
      strides: spec.strides,
      kernelInitializer: normalInit(rng),
      ...sn(),
      name,
    }).apply(h) as tf.SymbolicTensor;
    if (j > 0) h = batchNorm(`${name}_bn`).apply(h) as tf.SymbolicTensor;
    h = tf.layers.leakyReLU({ alpha: d.leakySlope, name: `${name}_lrelu` }).apply(h) as tf.SymbolicTensor;
    if (d.dropout > 0)
      h = new SeededDropout({ rate: d.dropout, name: `${name}_dropout` }).apply(h) as tf.SymbolicTensor;
  });
  const features = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
  const head = (units: number, name: string) => {
    const kernelInitializer = normalInit(rng);
    const layer = d.spectralNorm
      ? new Dense({ units, kernelInitializer, ...sn(), name })
      : tf.layers.dense({ units, kernelInitializer, name });
    return layer.apply(features) as tf.SymbolicTensor;
  };
  const adversarial = head(1, 'adversarial');
  const auxiliary = head(numClasses, 'auxiliary');
  const name = 'acgan_discriminator';
  if (!d.projection) return tf.model({ inputs: image, outputs: [adversarial, auxiliary], name });
  const label = tf.input({ shape: [numClasses], name: 'label' });
  const embedding = new Dense({
    units: features.shape[1]!,
    useBias: false,
    kernelInitializer: normalInit(rng),
    ...sn(),
    name: 'projection_embedding',
  }).apply(label) as tf.SymbolicTensor;
  const projection = tf.layers.dot({ axes: 1, name: 'projection' }).apply([features, embedding]);
  const projected = tf.layers
    .add({ name: 'adversarial_projected' })
    .apply([adversarial, projection as tf.SymbolicTensor]) as tf.SymbolicTensor;
  return tf.model({ inputs: [image, label], outputs: [projected, auxiliary], name });
}
