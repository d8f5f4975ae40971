import * as tf from '@tensorflow/tfjs';
import { instanceNormalization } from '../layers/instance-normalization.js';
import { paddedConv2d } from '../layers/padded-conv.js';

export interface PatchDiscriminatorConfig {
  /** Filters of the first layer (the reference's ndf). Default 64. */
  ndf?: number;
  /** Stride-2 layers; 3 gives the 70×70 PatchGAN. Default 3. */
  layers?: number;
  channels?: number;
  name?: string;
}

/**
 * The PatchGAN discriminator of pix2pix/CycleGAN (the authors' `NLayerDiscriminator` with
 * instance norm): k4 convolutions, stride 2 then 1, leaky ReLU 0.2, no norm on the first layer,
 * one logit per overlapping patch (70×70 pixels with 3 layers). Output [n, h/8 − 2, w/8 − 2, 1]
 * for 3 layers. Weights start at zero: initialize them (`initNormal`) before training.
 */
export function createPatchDiscriminator(config: PatchDiscriminatorConfig = {}): tf.LayersModel {
  const ndf = config.ndf ?? 64;
  const nLayers = config.layers ?? 3;
  const channels = config.channels ?? 3;
  const input = tf.input({ shape: [null, null, channels], name: 'image' });
  const leaky = (name: string) => tf.layers.leakyReLU({ alpha: 0.2, name });
  let x = paddedConv2d({ filters: ndf, kernelSize: 4, strides: 2, padding: 1, name: 'conv0' }).apply(
    input,
  ) as tf.SymbolicTensor;
  x = leaky('lrelu0').apply(x) as tf.SymbolicTensor;
  for (let n = 1; n <= nLayers; n++) {
    const filters = ndf * Math.min(2 ** n, 8);
    const strides = n < nLayers ? 2 : 1;
    x = paddedConv2d({ filters, kernelSize: 4, strides, padding: 1, name: `conv${n}` }).apply(
      x,
    ) as tf.SymbolicTensor;
    x = instanceNormalization({ name: `norm${n}` }).apply(x) as tf.SymbolicTensor;
    x = leaky(`lrelu${n}`).apply(x) as tf.SymbolicTensor;
  }
  const output = paddedConv2d({ filters: 1, kernelSize: 4, padding: 1, name: 'logits' }).apply(
    x,
  ) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: config.name ?? 'patch_discriminator' });
}
