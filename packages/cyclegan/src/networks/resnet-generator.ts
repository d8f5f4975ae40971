import type { Interpolation } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { instanceNormalization } from '../layers/instance-normalization.js';
import { PaddedUpConv2D, paddedConv2d, paddedConv2dTranspose } from '../layers/padded-conv.js';
import { reflectionPadding2d } from '../layers/reflection-padding.js';

export interface ResnetGeneratorConfig {
  /** Filters of the first layer (the reference's ngf). Default 64. */
  ngf?: number;
  /** Residual blocks: 9 for 256×256, 6 for 128×128 in the reference. Default 9. */
  blocks?: number;
  /** Image channels in and out. Default 3. */
  channels?: number;
  /**
   * How the two upsampling layers double the map: `transposed` (default, the reference: k3 s2
   * transposed convs), or `nearest` / `bilinear` upsampling followed by a k3 conv, which does not
   * draw the transposed convs' checkerboard.
   */
  upsample?: GeneratorUpsample;
  /** Model name (e.g. 'G_A'). */
  name?: string;
}

export const GENERATOR_UPSAMPLES = ['transposed', 'nearest', 'bilinear'] as const satisfies readonly (
  | 'transposed'
  | Interpolation
)[];
export type GeneratorUpsample = (typeof GENERATOR_UPSAMPLES)[number];

/**
 * The CycleGAN ResNet generator of Zhu et al. (2017), layer for layer as the authors' PyTorch
 * `ResnetGenerator` with instance norm and no dropout:
 *
 *   c7s1-ngf (reflection pad 3) → d2·ngf → d4·ngf (k3 s2 p1) → `blocks` × R4·ngf
 *   (reflect 1, conv 3, IN, ReLU, reflect 1, conv 3, IN, + input) → u2·ngf → u·ngf
 *   (transposed k3 s2 p1 op1, or with `upsample` 2× upsampling + conv k3 p1) → c7s1-channels
 *   (reflection pad 3) → tanh
 *
 * Fully convolutional: height and width only need to be multiples of 4. Weights start at zero:
 * initialize them (`initNormal`) before training.
 */
export function createResnetGenerator(config: ResnetGeneratorConfig = {}): tf.LayersModel {
  const ngf = config.ngf ?? 64;
  const blocks = config.blocks ?? 9;
  const channels = config.channels ?? 3;
  const input = tf.input({ shape: [null, null, channels], name: 'image' });
  const convNormRelu = (x: tf.SymbolicTensor, name: string, conv: tf.layers.Layer): tf.SymbolicTensor => {
    const y = conv.apply(x) as tf.SymbolicTensor;
    const n = instanceNormalization({ name: `${name}_norm` }).apply(y) as tf.SymbolicTensor;
    return tf.layers.reLU({ name: `${name}_relu` }).apply(n) as tf.SymbolicTensor;
  };

  let x = reflectionPadding2d({ padding: 3, name: 'in_pad' }).apply(input) as tf.SymbolicTensor;
  x = convNormRelu(x, 'in', paddedConv2d({ filters: ngf, kernelSize: 7, name: 'in_conv' }));
  x = convNormRelu(
    x,
    'down1',
    paddedConv2d({ filters: ngf * 2, kernelSize: 3, strides: 2, padding: 1, name: 'down1_conv' }),
  );
  x = convNormRelu(
    x,
    'down2',
    paddedConv2d({ filters: ngf * 4, kernelSize: 3, strides: 2, padding: 1, name: 'down2_conv' }),
  );
  for (let i = 1; i <= blocks; i++) x = residualBlock(x, ngf * 4, `res${i}`);
  const upsample = config.upsample ?? 'transposed';
  const up = (filters: number, name: string) =>
    upsample === 'transposed'
      ? paddedConv2dTranspose({
          filters,
          kernelSize: 3,
          strides: 2,
          padding: 1,
          outputPadding: 1,
          name: `${name}_conv`,
        })
      : new PaddedUpConv2D({ filters, kernelSize: 3, interpolation: upsample, name: `${name}_conv` });
  x = convNormRelu(x, 'up1', up(ngf * 2, 'up1'));
  x = convNormRelu(x, 'up2', up(ngf, 'up2'));
  x = reflectionPadding2d({ padding: 3, name: 'out_pad' }).apply(x) as tf.SymbolicTensor;
  x = paddedConv2d({ filters: channels, kernelSize: 7, name: 'out_conv' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.activation({ activation: 'tanh', name: 'out_tanh' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: config.name ?? 'resnet_generator' });
}

function residualBlock(input: tf.SymbolicTensor, filters: number, name: string): tf.SymbolicTensor {
  let x = reflectionPadding2d({ padding: 1, name: `${name}_pad1` }).apply(input) as tf.SymbolicTensor;
  x = paddedConv2d({ filters, kernelSize: 3, name: `${name}_conv1` }).apply(x) as tf.SymbolicTensor;
  x = instanceNormalization({ name: `${name}_norm1` }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: `${name}_relu` }).apply(x) as tf.SymbolicTensor;
  x = reflectionPadding2d({ padding: 1, name: `${name}_pad2` }).apply(x) as tf.SymbolicTensor;
  x = paddedConv2d({ filters, kernelSize: 3, name: `${name}_conv2` }).apply(x) as tf.SymbolicTensor;
  x = instanceNormalization({ name: `${name}_norm2` }).apply(x) as tf.SymbolicTensor;
  return tf.layers.add({ name: `${name}_add` }).apply([input, x]) as tf.SymbolicTensor;
}
