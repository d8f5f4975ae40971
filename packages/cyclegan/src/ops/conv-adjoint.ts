import * as tf from '@tensorflow/tfjs';
import type { AdjointKernels } from './adjoint-kernels.js';

type Pads = [[number, number], [number, number], [number, number], [number, number]];

export const explicitPads = (top: number, bottom: number, left: number, right: number): Pads => [
  [0, 0],
  [top, bottom],
  [left, right],
  [0, 0],
];

/** Cuts `before` rows/columns at the start and `after` at the end of a spatial axis (negative padding). */
function crop(t: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  if (before <= 0 && after <= 0) return t;
  const begin = [0, 0, 0, 0];
  const size = [-1, -1, -1, -1];
  begin[axis] = Math.max(0, before);
  size[axis] = t.shape[axis] - Math.max(0, before) - Math.max(0, after);
  return tf.slice(t, begin, size);
}

/** One axis of a phase: which taps, and how to pad `dy` so output c lands on row c·s + ρ. */
function phaseAxis(rho: number, k: number, stride: number, pad: number, outLen: number, count: number) {
  const r = (rho + pad) % stride;
  const q0 = Math.floor((rho + pad) / stride);
  const taps = Math.max(0, Math.ceil((k - r) / stride));
  const before = taps - 1 - q0;
  const after = count - outLen - before + taps - 1;
  return { r, taps, before, after };
}

/** Interleaves equal-shaped tensors along a spatial axis: parts[i] supplies rows i, i + n, i + 2n, … */
function interleave(parts: tf.Tensor4D[], axis: 1 | 2): tf.Tensor4D {
  if (parts.length === 1) return parts[0]!;
  const [n, h, w, c] = parts[0]!.shape;
  const shape: [number, number, number, number] =
    axis === 1 ? [n, h * parts.length, w, c] : [n, h, w * parts.length, c];
  return tf.stack(parts, axis + 1).reshape(shape) as tf.Tensor4D;
}

/**
 * The adjoint of `conv2d(·, w, stride, pad)` applied to `dy`, for an input of spatial size
 * [inH, inW]: the input gradient of that convolution, and the forward pass of a transposed
 * convolution. Computed with forward convolutions only:
 * - stride 1: one "full" convolution of `dy` with the rotated kernel;
 * - stride s > 1: input row j receives dy[q − m]·w[r + m·s] where j + pad = q·s + r, so the rows of
 *   each phase ρ = j mod s are a stride-1 convolution of `dy` with the taps r, r + s, … of w. The
 *   s² phase outputs are then interleaved. This does the arithmetic of the convolution itself,
 *   where zero-inserting `dy` first would do s² times as much.
 */
export function convAdjoint(
  dy: tf.Tensor4D,
  kernels: AdjointKernels,
  inH: number,
  inW: number,
  stride: number,
  pad: number,
): tf.Tensor4D {
  const [kh, kw, ci] = kernels.shape;
  const [n, outH, outW] = dy.shape;
  if (pad > Math.min(kh, kw) - 1) throw new Error(`convAdjoint: padding ${pad} exceeds kernel size - 1`);
  return tf.tidy(() => {
    if (stride === 1) {
      const h = phaseAxis(0, kh, 1, pad, outH, inH);
      const w = phaseAxis(0, kw, 1, pad, outW, inW);
      const src = crop(crop(dy, 1, -h.before, -h.after), 2, -w.before, -w.after);
      return tf.conv2d(
        src,
        kernels.full(),
        1,
        explicitPads(
          Math.max(0, h.before),
          Math.max(0, h.after),
          Math.max(0, w.before),
          Math.max(0, w.after),
        ),
      );
    }
    const countH = Math.ceil(inH / stride);
    const countW = Math.ceil(inW / stride);
    const rows: tf.Tensor4D[] = [];
    for (let rh = 0; rh < stride; rh++) {
      const h = phaseAxis(rh, kh, stride, pad, outH, countH);
      const cols: tf.Tensor4D[] = [];
      for (let rw = 0; rw < stride; rw++) {
        const w = phaseAxis(rw, kw, stride, pad, outW, countW);
        const kernel = kernels.phase(stride, h.r, w.r);
        if (!kernel) {
          cols.push(tf.zeros([n, countH, countW, ci]));
          continue;
        }
        const src = crop(crop(dy, 1, -h.before, -h.after), 2, -w.before, -w.after);
        const pads = explicitPads(
          Math.max(0, h.before),
          Math.max(0, h.after),
          Math.max(0, w.before),
          Math.max(0, w.after),
        );
        cols.push(tf.conv2d(src, kernel, 1, pads));
      }
      rows.push(interleave(cols, 2));
    }
    const full = interleave(rows, 1);
    return crop(crop(full, 1, 0, countH * stride - inH), 2, 0, countW * stride - inW);
  });
}
