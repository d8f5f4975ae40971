import * as tf from '@tensorflow/tfjs';
import { withBias } from './add-bias.js';

// 2× upsampling followed by a k×k 'same' conv, computed as one stride-2 transposed conv on the small
// map: the generators' answer to the checkerboard of plain transposed convs (Odena et al. 2016),
// at the cost of a transposed conv instead of a conv on the 4× larger map. The layers that use it
// stay in their packages (acgan's `NearestUpConv2D`, cyclegan's `PaddedUpConv2D`): their padding
// rules and class names (in saved models) differ.

/** How a generator block doubles its map before the conv: repeat each pixel, or interpolate. */
export type Interpolation = 'nearest' | 'bilinear';

/**
 * 2× upsampling of NHWC maps, the reference form of the up-conv layers (which compute the same
 * followed by a conv without materializing the upsampled map). `nearest`: each pixel becomes a 2×2
 * block. `bilinear`: output 2m is ¾·x[m] + ¼·x[m−1], output 2m + 1 is ¾·x[m] + ¼·x[m+1] along each
 * axis (half-pixel centres, as `resizeBilinear` with `halfPixelCenters`), with zeros beyond the
 * edges where that resize repeats the edge pixel: a fixed linear map, so the conv after it folds in.
 */
export function upsample2x(x: tf.Tensor4D, interpolation: Interpolation = 'nearest'): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    if (interpolation === 'nearest') {
      const blocks = tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1]));
      return tf.reshape(blocks, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
    }
    // Rows, then (on the transposed map) columns.
    const rows = (m: tf.Tensor4D): tf.Tensor4D => {
      const [n, r, q, ch] = m.shape;
      const padded = tf.pad(m, [
        [0, 0],
        [1, 1],
        [0, 0],
        [0, 0],
      ]);
      const near = tf.mul(m, 0.75);
      const even = tf.add(near, tf.mul(tf.slice(padded, [0, 0, 0, 0], [n, r, q, ch]), 0.25));
      const odd = tf.add(near, tf.mul(tf.slice(padded, [0, 2, 0, 0], [n, r, q, ch]), 0.25));
      return tf.reshape(tf.stack([even, odd], 2), [n, 2 * r, q, ch]) as tf.Tensor4D;
    };
    const swap = (m: tf.Tensor4D) => tf.transpose(m, [0, 2, 1, 3]) as tf.Tensor4D;
    return swap(rows(swap(rows(x))));
  });
}

/** Along one axis, upsampled pixel 2m + q reads x[m + e] with weight w, for each [e, w] of phase q. */
const PHASES: Record<Interpolation, [number, number][][]> = {
  nearest: [[[0, 1]], [[0, 1]]],
  bilinear: [
    [
      [0, 0.75],
      [-1, 0.25],
    ],
    [
      [0, 0.75],
      [1, 0.25],
    ],
  ],
};

/**
 * The 1-D tap map of "2× upsampling, then a k-tap 'same' conv" as a stride-2 transposed conv:
 * `taps[s][t]` = the weight with which tap t of the conv lands on tap s of the transposed conv's
 * kernel, whose size is the smallest that holds every tap under its 'same' padding (nearest: k + 1
 * for odd k, k + 2 for even k; bilinear: k + 3 for odd k).
 *
 * Output j = 2m + r of the upsampled conv reads upsampled pixel i = 2m + r + t − p through tap t (p
 * the conv's leading pad ⌊(k − 1)/2⌋), that is input m + ⌊(r + t − p)/2⌋ + e for each [e, w] of its
 * phase; the transposed conv reads input m + d through its tap s = r + P − 2d (P its leading pad
 * ⌊(k′ − 2)/2⌋). The phases r = 0, 1 fill alternate s.
 */
export function upConvTaps(k: number, interpolation: Interpolation = 'nearest'): number[][] {
  const p = Math.floor((k - 1) / 2);
  const reads: [number, number, number, number][] = []; // [r, t, d, w]
  for (const r of [0, 1]) {
    for (let t = 0; t < k; t++) {
      const m = Math.floor((r + t - p) / 2);
      for (const [e, w] of PHASES[interpolation][r + t - p - 2 * m]!) reads.push([r, t, m + e, w]);
    }
  }
  for (let size = 1; ; size++) {
    const P = Math.floor((size - 2) / 2);
    if (reads.some(([r, , d]) => r + P - 2 * d < 0 || r + P - 2 * d >= size)) continue;
    const taps = Array.from({ length: size }, () => new Array<number>(k).fill(0));
    for (const [r, t, d, w] of reads) taps[r + P - 2 * d]![t]! += w;
    return taps;
  }
}

/**
 * A conv's kernel [k, k, in, out] as the kernel [k′, k′, out, in] of the stride-2 transposed conv
 * that computes "upsample, then conv" (`taps`: `upConvTaps(k, interpolation)`, applied along both
 * axes). Differentiable: the conv's kernel is what trains.
 */
export function upConvKernel(kernel: tf.Tensor4D, taps: readonly (readonly number[])[]): tf.Tensor4D {
  return tf.tidy(() => {
    const [k, , cin, cout] = kernel.shape;
    const size = taps.length;
    const a = tf.tensor2d(taps.map((row) => [...row]));
    // Rows: k → k′, then (after swapping the spatial axes) columns: k → k′.
    let m = tf.reshape(tf.matMul(a, tf.reshape(kernel, [k, -1])), [size, k, cin, cout]);
    m = tf.transpose(m, [1, 0, 2, 3]);
    m = tf.reshape(tf.matMul(a, tf.reshape(m, [k, -1])), [size, size, cin, cout]);
    // [col, row, in, out] → [row, col, out, in]
    return tf.transpose(m, [1, 0, 3, 2]) as tf.Tensor4D;
  });
}

/**
 * The up-conv layers' forward pass: "2× upsampling, then the k×k 'same' conv `kernel` [k, k, in, out]
 * with `bias`" on NHWC `x`, as one stride-2 transposed conv with the kernel derived through `taps`
 * (`upConvTaps(k, interpolation)`).
 */
export function upConv2d(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor1D | null | undefined,
  taps: readonly (readonly number[])[],
): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const derived = upConvKernel(kernel, taps);
  try {
    return withBias(
      () => tf.conv2dTranspose(x, derived, [n, 2 * h, 2 * w, kernel.shape[3]], 2, 'same'),
      bias,
    );
  } finally {
    derived.dispose(); // the tape keeps its own copy for the gradients
  }
}
