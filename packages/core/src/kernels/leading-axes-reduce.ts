import * as tf from '@tensorflow/tfjs';
import { columnSumsFor } from './simd-reduce.js';
import { type WasmBackend, wordOffset } from './wasm-heap.js';

/**
 * Sum and Mean over the leading axes of a float32 tensor (axes 0…k−1, e.g. N, H, W of NHWC: the
 * per-channel reductions of BatchNorm and of bias gradients) as column sums over the heap, without
 * the full transpose tfjs' WASM kernels make first. Any other reduction goes to the original kernel.
 */
export function leadingAxesReduce(kind: 'Sum' | 'Mean', original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const x = args.inputs.x as tf.TensorInfo;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const backend = args.backend as unknown as WasmBackend;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    const sums = leading && x.dtype === 'float32' ? columnSumsFor(backend) : null;
    if (!sums) return original(args);
    const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
    const kept = x.shape.slice(axes.length);
    const cols = kept.reduce((a, b) => a * b, 1);
    const shape = keepDims ? [...axes.map(() => 1), ...kept] : kept;
    const out = backend.makeOutput(shape, 'float32');
    if (rows * cols === 0) {
      if (cols) backend.typedArrayFromHeap(out).fill(kind === 'Sum' ? 0 : Number.NaN);
      return out;
    }
    const at = (t: tf.TensorInfo) => wordOffset(backend, t) * 4;
    sums(at(x), rows, cols, at(out), kind === 'Mean' ? rows : 1);
    return out;
  };
}
