import type * as tf from '@tensorflow/tfjs';
import {
  forgetWasmView,
  interceptDisposal,
  registerWasmView,
  type WasmBackend,
  wasmMemoryOffset,
} from '../tfjs-internals.js';

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

/** A tensor entry that views part of another tensor's memory (no copy); release it with `releaseView`. */
export function viewOf(
  backend: WasmBackend,
  of: tf.TensorInfo,
  offset: number,
  shape: number[],
): tf.TensorInfo {
  const base = wasmMemoryOffset(backend, of.dataId);
  if (base === undefined) throw new Error('parallel conv: the input tensor is not on the WASM backend');
  return registerWasmView(backend, base + offset * Float32Array.BYTES_PER_ELEMENT, shape);
}

/** Forgets a view without freeing the memory it shows (which belongs to the viewed tensor). */
export function releaseView(backend: WasmBackend, view: tf.TensorInfo): void {
  forgetWasmView(backend, view);
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

/**
 * Columns [c0, c1) of a row-major [rows, width] array, packed: the channel slice of an NHWC tensor or
 * of an HWIO filter's output channels.
 */
export function sliceColumns(src: Float32Array, width: number, c0: number, c1: number): Float32Array {
  const rows = src.length / width;
  const out = new Float32Array(rows * (c1 - c0));
  copyRows(src, c0, out, 0, rows, c1 - c0, width, c1 - c0);
  return out;
}

/** Writes a packed [rows, c1 − c0] block into columns [c0, c1) of a row-major [rows, width] array. */
export function writeColumns(dst: Float32Array, width: number, c0: number, block: Float32Array): void {
  const rows = dst.length / width;
  const w = block.length / rows;
  copyRows(block, 0, dst, c0, rows, w, w, width);
}

/** From this row length on, a native copy per row beats an element loop. */
const ROW_COPY_MIN = 32;

const disposalListeners = new Set<(dataId: object) => void>();

/**
 * Calls `listener` with each dataId whose memory the backend frees, so that caches keyed by tensor
 * (a filter's packed parts, its copy in a helper thread) live exactly as long as the tensor: memory
 * freed promptly is reused warm, where a bounded cache would keep touching fresh pages.
 */
export function onDisposal(backend: WasmBackend, listener: (dataId: object) => void): void {
  disposalListeners.add(listener);
  interceptDisposal(backend, (dataId) => {
    for (const l of disposalListeners) l(dataId);
  });
}
