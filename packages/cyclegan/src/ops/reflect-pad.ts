import * as tf from '@tensorflow/tfjs';
import { customOp } from './custom-op.js';

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
  return customOp(
    'SkinganReflectPad',
    { x },
    () =>
      tf.mirrorPad(
        x,
        [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ],
        'reflect',
      ),
    (dy) => ({ x: () => tf.tidy(() => foldAxis(foldAxis(dy as tf.Tensor4D, 2, pad), 1, pad)) }),
  ) as tf.Tensor4D;
}
