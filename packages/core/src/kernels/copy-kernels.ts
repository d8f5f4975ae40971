import * as tf from '@tensorflow/tfjs';
import { heapWords, type WasmBackend, wordOffset } from './wasm-heap.js';

/*
 * Slice, Concat and Pack for WASM, copying heap to heap. tfjs-backend-wasm 4.22 does these in
 * JavaScript: its Slice first copies the whole input out of the heap (`readSync`), and all three
 * make a typed-array view per copied row. On CycleGAN's batch-1 maps (rows of 16–64 values, ~700
 * slices a step) that garbage costs more than the copying. Here every row is one `copyWithin` on a
 * single view of the heap (a loop for short rows). Float32 and int32 only; other dtypes go to the
 * backend's own kernel.
 */

/** Below this many words a plain loop copies faster than a `copyWithin` call. */
const LOOP_MAX = 24;

function copyRun(heap: Int32Array, to: number, from: number, length: number): void {
  if (length > LOOP_MAX) heap.copyWithin(to, from, from + length);
  else for (let i = 0; i < length; i++) heap[to + i] = heap[from + i]!;
}

const fourBytes = (dtype: tf.DataType) => dtype === 'float32' || dtype === 'int32';

/** The backend's Slice, copying each contiguous run of the slice once. */
export function heapSlice(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (!fourBytes(x.dtype) || x.shape.length === 0) return original(args);
    const { begin, size } = args.attrs as unknown as tf.SliceAttrs;
    const [b, z] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, begin, size) as [
      number[],
      number[],
    ];
    const backend = args.backend as unknown as WasmBackend;
    const out = backend.makeOutput(z, x.dtype);
    const total = tf.util.sizeFromShape(z);
    if (total === 0) return out;
    const shape = x.shape;
    const rank = shape.length;
    const strides = new Array<number>(rank);
    for (let d = rank - 1, s = 1; d >= 0; d--) {
      strides[d] = s;
      s *= shape[d]!;
    }
    // Trailing axes taken whole merge into the run that axis k starts.
    let k = rank - 1;
    while (k > 0 && z[k] === shape[k]) k--;
    const run = z[k]! * strides[k]!;
    const heap = heapWords(backend);
    const src = wordOffset(backend, x);
    let to = wordOffset(backend, out);
    const index = new Array<number>(k).fill(0);
    for (let done = 0; done < total; done += run) {
      let from = src + b[k]! * strides[k]!;
      for (let d = 0; d < k; d++) from += (b[d]! + index[d]!) * strides[d]!;
      copyRun(heap, to, from, run);
      to += run;
      for (let d = k - 1; d >= 0; d--) {
        if (++index[d]! < z[d]!) break;
        index[d] = 0;
      }
    }
    return out;
  };
}

/** Copies `inputs` side by side along `axis` of the result: `outer` rows, each input's run per row. */
function concatInto(
  backend: WasmBackend,
  inputs: readonly tf.TensorInfo[],
  outShape: number[],
  outer: number,
  runs: readonly number[],
): tf.TensorInfo {
  const out = backend.makeOutput(outShape, inputs[0]!.dtype);
  const heap = heapWords(backend);
  const srcs = inputs.map((t) => wordOffset(backend, t));
  let to = wordOffset(backend, out);
  for (let r = 0; r < outer; r++) {
    for (let i = 0; i < inputs.length; i++) {
      const run = runs[i]!;
      copyRun(heap, to, srcs[i]! + r * run, run);
      to += run;
    }
  }
  return out;
}

/** The backend's Concat, one copy per row and input. */
export function heapConcat(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const inputs = (args.inputs as unknown as tf.TensorInfo[]).filter(
      (t) => tf.util.sizeFromShape(t.shape) > 0,
    );
    if (inputs.length < 2 || !inputs.every((t) => fourBytes(t.dtype) && t.dtype === inputs[0]!.dtype)) {
      return original(args);
    }
    const axis = tf.util.parseAxisParam((args.attrs as unknown as tf.ConcatAttrs).axis, inputs[0]!.shape)[0]!;
    const shapes = inputs.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const outShape = tf.backend_util.computeOutShape(shapes, axis);
    const outer = tf.util.sizeFromShape(outShape.slice(0, axis));
    const runs = shapes.map((s) => tf.util.sizeFromShape(s.slice(axis)));
    return concatInto(args.backend as unknown as WasmBackend, inputs, outShape, outer, runs);
  };
}

/** The backend's Pack (tf.stack): a concat along a new axis, without the intermediate reshapes. */
export function heapPack(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const first = inputs[0];
    if (!first || inputs.length < 2 || !fourBytes(first.dtype)) return original(args);
    for (const t of inputs) {
      tf.util.assertShapesMatch(
        first.shape,
        t.shape,
        'All tensors passed to stack must have matching shapes',
      );
      tf.util.assert(first.dtype === t.dtype, () => 'All tensors passed to stack must have matching dtypes');
    }
    const { axis } = args.attrs as unknown as tf.PackAttrs;
    const a = axis < 0 ? axis + first.shape.length + 1 : axis;
    const outShape = [...first.shape.slice(0, a), inputs.length, ...first.shape.slice(a)];
    const run = tf.util.sizeFromShape(first.shape.slice(a));
    return concatInto(
      args.backend as unknown as WasmBackend,
      inputs,
      outShape,
      tf.util.sizeFromShape(first.shape.slice(0, a)),
      inputs.map(() => run),
    );
  };
}

/**
 * Identity (tfjs' `clone`, run for every tensor the gradient tape saves) by reference, as the cpu
 * backend does: the output shares the input's memory, counted once more. tfjs' WASM kernel copies
 * (~600 copies in a ResNet-18 training step); no kernel writes into its inputs, so sharing is safe.
 */
export const sharedIdentity =
  (original: tf.KernelFunc): tf.KernelFunc =>
  (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    if (x.dtype === 'string') return original(args);
    (args.backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
