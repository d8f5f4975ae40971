import * as tf from '@tensorflow/tfjs';
import { instanceNorm } from '../ops/instance-norm.js';
import { LAYER_PACKAGE, type LayerArgs, nhwc, single } from './layer-utils.js';

export interface InstanceNormalizationArgs extends LayerArgs {
  /** Added to the variance. Default 1e-5 (PyTorch's). */
  epsilon?: number;
}

/**
 * Instance normalization over height and width of each image and channel, without affine
 * parameters (PyTorch's InstanceNorm2d default, which the CycleGAN reference uses).
 */
export class InstanceNormalization extends tf.layers.Layer {
  static readonly className = 'InstanceNormalization';
  readonly epsilon: number;

  constructor(args: InstanceNormalizationArgs = {}) {
    super(args);
    this.epsilon = args.epsilon ?? 1e-5;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return nhwc(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return instanceNorm(single(inputs) as tf.Tensor4D, this.epsilon);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(InstanceNormalization, LAYER_PACKAGE);

export function instanceNormalization(args?: InstanceNormalizationArgs): InstanceNormalization {
  return new InstanceNormalization(args);
}
