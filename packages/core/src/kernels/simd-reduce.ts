import {
  F32,
  F32X4_ADD,
  F32X4_DIV,
  F32X4_SPLAT,
  get,
  I32,
  locals,
  moduleBytes,
  moduleOverHeap,
  rowLoop,
  set,
  V128_ZERO,
  vload,
  vstore,
  type WasmFunction,
} from './wasm-asm.js';
import type { WasmBackend } from './wasm-heap.js';

/**
 * Column sums of a row-major [rows, cols] float32 array in tfjs' WASM heap: out[c] = (Σᵣ x[r, c]) / d.
 * A Sum or Mean over the leading axes of an NHWC tensor (BatchNorm's statistics and their gradients)
 * is exactly this; tfjs' own kernels first transpose the tensor so the summed axes come last. Each
 * column is summed in row order in float32, as tfjs sums, and divided once (d = 1 for a sum).
 */
export type ColumnSums = (x: number, rows: number, cols: number, out: number, divisor: number) => void;

// Parameters: x, rows, row stride (bytes), out (byte offsets), divisor; locals: r, 4 accumulators.
const [X, ROWS, STRIDE, OUT, D] = [0, 1, 2, 3, 4];
const [R, D4, ACC] = [5, 6, 7];

/** Sums `lanes` × 4 adjacent columns, one v128 accumulator per 4. */
function columnBlock(lanes: number): WasmFunction {
  const code: number[] = [...get(D), ...F32X4_SPLAT, ...set(D4)];
  for (let q = 0; q < lanes; q++) code.push(...V128_ZERO, ...set(ACC + q));
  const row: number[] = [];
  for (let q = 0; q < lanes; q++) {
    row.push(...get(ACC + q), ...get(X), ...vload(16 * q), ...F32X4_ADD, ...set(ACC + q));
  }
  code.push(...rowLoop(R, ROWS, STRIDE, [X], row));
  for (let q = 0; q < lanes; q++) {
    code.push(...get(OUT), ...get(ACC + q), ...get(D4), ...F32X4_DIV, ...vstore(16 * q));
  }
  return {
    name: `sum${4 * lanes}`,
    params: [I32, I32, I32, I32, F32],
    locals: locals(1, 1 + lanes),
    code,
  };
}

function reduceModuleBytes(): Uint8Array {
  return moduleBytes([columnBlock(4), columnBlock(1)]);
}

const cache = new WeakMap<object, ColumnSums | null>();

/** Calls `call` per block of 16 columns, then of 4, with the block's width and byte offset. */
export function columnBlocks(cols: number, call: (width: 16 | 4, byteOffset: number) => void): number {
  let c = 0;
  for (; c + 16 <= cols; c += 16) call(16, 4 * c);
  for (; c + 4 <= cols; c += 4) call(4, 4 * c);
  return c;
}

/** The column sums bound to `backend`'s heap, or null where a module cannot reach it. */
export function columnSumsFor(backend: WasmBackend): ColumnSums | null {
  return moduleOverHeap(cache, backend, reduceModuleBytes, ({ memory, exports }) => {
    const sum = exports as Record<string, (...a: number[]) => void>;
    return (x, rows, cols, out, divisor) => {
      const done = columnBlocks(cols, (w, o) => sum[`sum${w}`]!(x + o, rows, cols * 4, out + o, divisor));
      if (done < cols)
        scalarColumns(new Float32Array(memory.buffer), x / 4, rows, cols, done, out / 4, divisor);
    };
  });
}

/** The last cols mod 4 columns in JavaScript, each addition rounded to float32 as the lanes round. */
function scalarColumns(
  heap: Float32Array,
  x: number,
  rows: number,
  cols: number,
  from: number,
  out: number,
  divisor: number,
): void {
  for (let c = from; c < cols; c++) {
    let acc = 0;
    for (let r = 0; r < rows; r++) acc = Math.fround(acc + heap[x + r * cols + c]!);
    heap[out + c] = Math.fround(acc / divisor);
  }
}
