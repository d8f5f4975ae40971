import type * as tf from '@tensorflow/tfjs';

/** What of the WASM backend skingan's parallel kernels read and write: its heap and tensor table. */
export interface WasmBackend {
  wasm: {
    HEAPU8: Uint8Array;
    tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
  };
  dataIdMap: {
    get(dataId: object): { memoryOffset: number } | undefined;
    set(dataId: object, data: object): void;
    delete(dataId: object): void;
  };
  dataIdNextNumber: number;
  /** A view of a tensor's memory; invalid once the heap grows (any allocation may grow it). */
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

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
  const data = backend.dataIdMap.get(info.dataId);
  if (!data) throw new Error('the tensor is not on the WASM backend');
  return data.memoryOffset / 4;
}

/** A tensor entry that views part of another tensor's memory (no copy); release it with `releaseView`. */
export function viewOf(
  backend: WasmBackend,
  of: tf.TensorInfo,
  offset: number,
  shape: number[],
): tf.TensorInfo {
  const base = backend.dataIdMap.get(of.dataId);
  if (!base) throw new Error('parallel conv: the input tensor is not on the WASM backend');
  const id = backend.dataIdNextNumber++;
  const dataId = { id };
  const memoryOffset = base.memoryOffset + offset * Float32Array.BYTES_PER_ELEMENT;
  backend.dataIdMap.set(dataId, { id, memoryOffset, shape, dtype: 'float32', refCount: 1 });
  backend.wasm.tfjs.registerTensor(id, size(shape), memoryOffset);
  return { dataId, shape, dtype: 'float32' };
}

/** Forgets a view without freeing the memory it shows (which belongs to the viewed tensor). */
export function releaseView(backend: WasmBackend, view: tf.TensorInfo): void {
  backend.wasm.tfjs.disposeData((view.dataId as { id: number }).id);
  backend.dataIdMap.delete(view.dataId);
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
const watched = new WeakSet<object>();

/**
 * Calls `listener` with each dataId whose memory the backend frees, so that caches keyed by tensor
 * (a filter's packed parts, its copy in a helper thread) live exactly as long as the tensor: memory
 * freed promptly is reused warm, where a bounded cache would keep touching fresh pages.
 */
export function onDisposal(backend: WasmBackend, listener: (dataId: object) => void): void {
  disposalListeners.add(listener);
  if (watched.has(backend)) return;
  watched.add(backend);
  const dispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId: object, force?: boolean) => {
    const freed = (dispose as (d: object, f?: boolean) => boolean)(dataId, force);
    if (freed) for (const l of disposalListeners) l(dataId);
    return freed;
  };
}
