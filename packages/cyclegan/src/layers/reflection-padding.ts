import * as tf from '@tensorflow/tfjs';
import { reflectPad } from '../ops/reflect-pad.js';
import { LAYER_PACKAGE, type LayerArgs, nhwc, single } from './layer-utils.js';

export interface ReflectionPadding2DArgs extends LayerArgs {
  /** Rows/columns mirrored onto each side (PyTorch's ReflectionPad2d(padding)). Default 1. */
  padding?: number;
}

/** Reflection padding of height and width of an NHWC tensor, with a correct gradient. */
export class ReflectionPadding2D extends tf.layers.Layer {
  static readonly className = 'ReflectionPadding2D';
  readonly padding: number;

  constructor(args: ReflectionPadding2DArgs = {}) {
    super(args);
    this.padding = args.padding ?? 1;
    if (!Number.isInteger(this.padding) || this.padding < 0) {
      throw new Error(`ReflectionPadding2D: padding must be a non-negative integer, got ${this.padding}`);
    }
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w, c] = nhwc(inputShape);
    const grow = (d: number | null | undefined) => (d == null ? null : d + 2 * this.padding);
    return [n ?? null, grow(h), grow(w), c ?? null];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return reflectPad(single(inputs) as tf.Tensor4D, this.padding);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), padding: this.padding };
  }
}
tf.serialization.registerClass(ReflectionPadding2D, LAYER_PACKAGE);

export function reflectionPadding2d(args?: ReflectionPadding2DArgs): ReflectionPadding2D {
  return new ReflectionPadding2D(args);
}
