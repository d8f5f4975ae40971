import type * as tf from '@tensorflow/tfjs';
import { type WasmBackend, wasmMemoryOffset } from '../tfjs-internals.js';

export type { WasmBackend };

/**
 * The whole heap as 4-byte words, and where a tensor's data starts in it: copies between tensors
 * then go through `copyWithin` (no view object per row, no garbage). Int32, so that a copy keeps
 * every bit pattern (a float32 NaN payload, an int32 that reads as one). Invalid once the heap grows.
 */
export function heapWords(backend: WasmBackend): Int32Array {
  return new Int32Array(backend.wasm.HEAPU8.buffer);
}

/** Where `info`'s data starts in `heapWords` (4-byte dtypes only). */
export function wordOffset(backend: WasmBackend, info: tf.TensorInfo): number {
  const offset = wasmMemoryOffset(backend, info.dataId);
  if (offset === undefined) throw new Error('the tensor is not on the WASM backend');
  return offset / 4;
}

/** The whole heap as float32 values; invalid once the heap grows. */
export function heapFloats(backend: WasmBackend): Float32Array {
  return new Float32Array(backend.wasm.HEAPU8.buffer);
}

/**
 * Copies `rows` rows of `width` values from rows `srcStride` apart (from `srcAt`) to rows `dstStride`
 * apart (from `dstAt`): one native copy when both are contiguous, one per row for long rows, an
 * element loop for short ones (a view per row would cost more than the copy).
 */
export function copyRows(
  src: Float32Array,
  srcAt: number,
  dst: Float32Array,
  dstAt: number,
  rows: number,
  width: number,
  srcStride: number,
  dstStride: number,
): void {
  if (srcStride === width && dstStride === width) {
    dst.set(src.subarray(srcAt, srcAt + rows * width), dstAt);
  } else if (width >= ROW_COPY_MIN) {
    for (let r = 0; r < rows; r++) {
      const s = srcAt + r * srcStride;
      dst.set(src.subarray(s, s + width), dstAt + r * dstStride);
    }
  } else {
    for (let r = 0; r < rows; r++) {
      const s = srcAt + r * srcStride;
      const d = dstAt + r * dstStride;
      for (let c = 0; c < width; c++) dst[d + c] = src[s + c]!;
    }
  }
}

/** From this row length on, a native copy per row beats an element loop. */
const ROW_COPY_MIN = 32;
