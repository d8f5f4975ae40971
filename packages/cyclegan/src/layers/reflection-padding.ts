import { type LayerArgs, single } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { LAYER_PACKAGE, nhwc } from './layer-utils.js';

/**
 * Folds the gradient of a reflection pad along `axis` back onto the unpadded tensor: each padded
 * row is a mirror image of an interior row (the edge row itself is not repeated), so its gradient
 * adds onto that row.
 */
function foldAxis(dy: tf.Tensor4D, axis: 1 | 2, pad: number): tf.Tensor4D {
  const n = dy.shape[axis] - 2 * pad;
  const along = (start: number, size: number) => {
    const begin = [0, 0, 0, 0];
    const sizes = [-1, -1, -1, -1];
    begin[axis] = start;
    sizes[axis] = size;
    return tf.slice(dy, begin, sizes) as tf.Tensor4D;
  };
  const center = (start: number, size: number) => along(pad + start, size);
  // Padded rows 0..pad-1 mirror interior rows pad..1; rows pad+n..2pad+n-1 mirror n-2..n-1-pad.
  const reversed = (start: number) =>
    // Row by row: WASM's Reverse kernel is slow, and a one-row band is its own mirror image.
    pad === 1
      ? along(start, 1)
      : tf.concat(
          Array.from({ length: pad }, (_, i) => along(start + pad - 1 - i, 1)),
          axis,
        );
  const top = reversed(0);
  const bottom = reversed(pad + n);
  const parts: tf.Tensor4D[] = [center(0, 1), tf.add(center(1, pad), top)];
  const middle = n - 2 - 2 * pad;
  if (middle > 0) parts.push(center(1 + pad, middle));
  if (middle >= 0) {
    parts.push(tf.add(center(n - 1 - pad, pad), bottom), center(n - 1, 1));
  } else {
    // The two mirrored bands overlap (n < 2·pad + 2): add the bottom band onto what is there.
    const upper = tf.concat([...parts, center(1 + pad, n - 1 - pad)], axis);
    const lower = tf.pad(bottom, padAlong(axis, n - 1 - pad, 1));
    return tf.add(upper, lower);
  }
  return tf.concat(parts, axis);
}

function padAlong(axis: 1 | 2, before: number, after: number): [number, number][] {
  const p: [number, number][] = [
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 0],
  ];
  p[axis] = [before, after];
  return p;
}

/**
 * Reflection padding of the two spatial axes of an NHWC tensor (PyTorch's `ReflectionPad2d`,
 * tfjs' `mirrorPad(…, 'reflect')`), with a correct gradient: tfjs' own MirrorPad gradient only
 * slices out the centre and drops what flowed into the padded border. Keeps nothing for backprop.
 */
export function reflectPad(x: tf.Tensor4D, pad: number): tf.Tensor4D {
  if (pad === 0) return x;
  const [, h, w] = x.shape;
  if (pad >= h || pad >= w) {
    throw new Error(`reflectPad: padding ${pad} needs spatial size > ${pad}, got ${h}×${w}`);
  }
  return tf.customGrad((...args) => ({
    value: tf.mirrorPad(
      args[0] as tf.Tensor4D,
      [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ],
      'reflect',
    ),
    // tidy: tfjs runs a custom gradient outside any scope of its own (see instanceNorm).
    gradFunc: (dy) => tf.tidy(() => foldAxis(foldAxis(dy as tf.Tensor4D, 2, pad), 1, pad)),
  }))(x) as tf.Tensor4D;
}

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
