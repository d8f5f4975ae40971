import { countParams, Rng, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/** The shape of a ResNet body: residual block kind, blocks per stage, channels per stage. */
export interface ResNetConfig {
  block: 'basic' | 'bottleneck';
  /** Residual blocks in each stage (torchvision's layer1…layer4). */
  layers: readonly number[];
  /** Base channels of each stage; a bottleneck block outputs 4× this. */
  widths: readonly number[];
  /** Channels of the 7×7 stem convolution. */
  stemWidth: number;
  /** BatchNorm momentum in Keras' convention (torch momentum 0.1 = Keras 0.9). */
  bnMomentum?: number;
  bnEpsilon?: number;
}

/**
 * Named architectures. `resnet18/34/50` match torchvision's layer shapes and parameter counts
 * (`torchvision.models.resnet18(num_classes=8)`: 11,180,616 parameters with the 8-class head);
 * `resnet-small` is a one-block-per-stage ResNet narrow enough to train on a laptop CPU.
 */
export const RESNET_ARCHS = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2], widths: [64, 128, 256, 512], stemWidth: 64 },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3], widths: [64, 128, 256, 512], stemWidth: 64 },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3], widths: [64, 128, 256, 512], stemWidth: 64 },
  'resnet-small': { block: 'basic', layers: [1, 1, 1, 1], widths: [16, 32, 64, 128], stemWidth: 16 },
} as const satisfies Record<string, ResNetConfig>;

export type ResNetArch = keyof typeof RESNET_ARCHS;
export const RESNET_ARCH_NAMES = Object.keys(RESNET_ARCHS) as ResNetArch[];

export function resnetConfig(arch: string): ResNetConfig {
  const c = (RESNET_ARCHS as Record<string, ResNetConfig>)[arch];
  if (!c) {
    throw new SkinganError(`unknown architecture "${arch}"`, {
      code: 'USAGE',
      hint: `use one of: ${RESNET_ARCH_NAMES.join(', ')}`,
    });
  }
  return c;
}

/**
 * A ResNet body from input images to globally average-pooled features ([N, C]), as a tfjs
 * functional model. Layer names follow Keras applications (`conv1_conv`, `conv2_block1_1_conv`,
 * …; stage k of torchvision is `conv{k+1}`), which is how layer groups are found for
 * discriminative learning rates in both these models and the Keras ImageNet ResNet-50.
 *
 * Differences from torchvision: convolutions use 'same' padding, which for stride 2 on even sizes
 * pads (0, 1) instead of (1, 1); shapes and parameter counts are identical. Initialization is
 * He-normal (fan-out) for convolutions and γ=1, β=0 for BatchNorm, as torchvision.
 */
export function buildResNetBackbone(config: ResNetConfig, inputSize: number, seed = 0): tf.LayersModel {
  const rng = new Rng(`resnet:${seed}`);
  const momentum = config.bnMomentum ?? 0.9;
  const epsilon = config.bnEpsilon ?? 1e-5;
  const convInit = () =>
    tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'normal', seed: rng.seed() });
  const conv = (x: tf.SymbolicTensor, filters: number, kernel: number, strides: number, name: string) =>
    tf.layers
      .conv2d({
        filters,
        kernelSize: kernel,
        strides,
        padding: 'same',
        useBias: false,
        kernelInitializer: convInit(),
        name,
      })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.batchNormalization({ axis: -1, momentum, epsilon, name }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, name: string) => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [inputSize, inputSize, 3], name: 'input' });
  let x = relu(bn(conv(input, config.stemWidth, 7, 2, 'conv1_conv'), 'conv1_bn'), 'conv1_relu');
  x = tf.layers
    .maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'pool1_pool' })
    .apply(x) as tf.SymbolicTensor;

  const expansion = config.block === 'bottleneck' ? 4 : 1;
  let channels = config.stemWidth;
  config.layers.forEach((blocks, s) => {
    const width = config.widths[s]!;
    for (let b = 0; b < blocks; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const name = `conv${s + 2}_block${b + 1}`;
      const out = width * expansion;
      let shortcut = x;
      if (stride !== 1 || channels !== out) {
        shortcut = bn(conv(x, out, 1, stride, `${name}_0_conv`), `${name}_0_bn`);
      }
      let y: tf.SymbolicTensor;
      if (config.block === 'basic') {
        y = relu(bn(conv(x, width, 3, stride, `${name}_1_conv`), `${name}_1_bn`), `${name}_1_relu`);
        y = bn(conv(y, width, 3, 1, `${name}_2_conv`), `${name}_2_bn`);
      } else {
        // torchvision's ResNet v1.5: the stride sits on the 3×3 convolution.
        y = relu(bn(conv(x, width, 1, 1, `${name}_1_conv`), `${name}_1_bn`), `${name}_1_relu`);
        y = relu(bn(conv(y, width, 3, stride, `${name}_2_conv`), `${name}_2_bn`), `${name}_2_relu`);
        y = bn(conv(y, out, 1, 1, `${name}_3_conv`), `${name}_3_bn`);
      }
      const sum = tf.layers.add({ name: `${name}_add` }).apply([shortcut, y]) as tf.SymbolicTensor;
      x = relu(sum, `${name}_out`);
      channels = out;
    }
  });
  const pooled = tf.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: pooled, name: 'backbone' });
}

/** The classification head on pooled features: one dense layer to logits (dropout is applied by the trainer). */
export function buildHead(featureDim: number, numClasses: number, seed = 0): tf.LayersModel {
  const rng = new Rng(`head:${seed}`);
  const input = tf.input({ shape: [featureDim], name: 'features' });
  // PyTorch's nn.Linear default: U(±1/√fan_in) for weights and bias (seeded in that order).
  const bound = 1 / Math.sqrt(featureDim);
  const uniform = () => tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: rng.seed() });
  const logits = tf.layers
    .dense({ units: numClasses, name: 'logits', kernelInitializer: uniform(), biasInitializer: uniform() })
    .apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'head' });
}

/** Trainable parameter count (what torchvision's `sum(p.numel() for p in net.parameters())` counts). */
export function countTrainableParams(...models: tf.LayersModel[]): number {
  return models.reduce((n, m) => n + countParams(m).trainable, 0);
}
