import * as tf from '@tensorflow/tfjs';
import { batchNormLoopsFor } from './simd-batch-norm.js';
import { columnSumsFor } from './simd-reduce.js';
import { type WasmBackend, wordOffset } from './wasm-heap.js';

/** Kernels behind `batchNormTraining` where a backend has them (WASM: one SIMD pass each). */
export const BN_STATS_KERNEL = 'SkinganBatchNormStats';
export const BN_AFFINE_KERNEL = 'SkinganBatchNormAffine';
export const BN_GRAD_SUMS_KERNEL = 'SkinganBatchNormGradSums';

/**
 * Batch normalization in training mode over every axis but the last (NHWC's channels), as Keras'
 * BatchNormalization computes it (`tf.moments`, biased variance, then `tf.batchNorm`), as one op
 * with the closed-form gradient:
 *
 *   y = (x − μ)·γ/σ + β,  σ = √(var + ε)
 *   dβ = Σ dy,  dγ = Σ dy·(x − μ)/σ
 *   dx = (γ/σ)·dy − (γ/σ³)·(x − μ)·Σ dy·(x − μ)/N − (γ/σ)·Σ dy/N
 *
 * tfjs differentiates the composed ops instead: ~15 elementwise passes over the activations per
 * layer and step. `onStats` is called with the batch mean and variance while they exist (to update
 * running averages; their own gradient is accounted for in dx). On WASM each pass is a SIMD loop
 * over the heap; elsewhere tf ops.
 */
export function batchNormTraining(
  x: tf.Tensor,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  epsilon: number,
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void,
): tf.Tensor {
  const channels = x.shape[x.rank - 1]!;
  const rows = x.size / channels;
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const fast = fastPath(x);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, g, b] = args as [tf.Tensor, tf.Tensor1D, tf.Tensor1D];
    const save = args[3] as tf.GradSaveFunc;
    const [mean, variance] = fast
      ? (tf.engine().runKernel(BN_STATS_KERNEL, { x: input }) as [tf.Tensor1D, tf.Tensor1D])
      : (() => {
          const m = tf.moments(input, axes);
          return [m.mean, m.variance] as [tf.Tensor1D, tf.Tensor1D];
        })();
    onStats?.(mean, variance);
    const rsqrt = tf.rsqrt(tf.add(variance, epsilon));
    const scale = tf.mul(g, rsqrt) as tf.Tensor1D;
    const y = affine(fast, input, mean, scale, b);
    save([input, mean, rsqrt, g]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [xs, m, r, gs] = saved as [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        const dyT = dy as tf.Tensor;
        const [s1, s2] = fast
          ? (tf.engine().runKernel(BN_GRAD_SUMS_KERNEL, { x: xs, dy: dyT, mean: m }) as [
              tf.Tensor1D,
              tf.Tensor1D,
            ])
          : [tf.sum(dyT, axes) as tf.Tensor1D, tf.sum(tf.mul(dyT, tf.sub(xs, m)), axes) as tf.Tensor1D];
        const a = tf.mul(gs, r) as tf.Tensor1D;
        const e = tf.neg(tf.div(tf.mul(tf.mul(a, tf.square(r)), s2), rows)) as tf.Tensor1D;
        const d = tf.neg(tf.div(tf.mul(a, s1), rows)) as tf.Tensor1D;
        const dx = affine(fast, dyT, m, a, d, xs, e);
        return [dx, tf.mul(s2, r), s1];
      },
    };
  });
  return op(x, gamma, beta);
}

/** x·a + b without z, or x·a + (z − mean)·e + b with it; (x − mean)·a + b is the forward form. */
function affine(
  fast: boolean,
  x: tf.Tensor,
  mean: tf.Tensor1D,
  a: tf.Tensor1D,
  b: tf.Tensor1D,
  z?: tf.Tensor,
  e?: tf.Tensor1D,
): tf.Tensor {
  if (fast) {
    const inputs: tf.NamedTensorMap = z && e ? { x, mean, a, b, z, e } : { x, mean, a, b };
    return tf.engine().runKernel(BN_AFFINE_KERNEL, inputs) as tf.Tensor;
  }
  return z && e
    ? tf.add(tf.add(tf.mul(x, a), tf.mul(tf.sub(z, mean), e)), b)
    : tf.add(tf.mul(tf.sub(x, mean), a), b);
}

function fastPath(x: tf.Tensor): boolean {
  const backend = tf.getBackend();
  return (
    x.dtype === 'float32' &&
    x.rank >= 2 &&
    x.shape[x.rank - 1]! % 4 === 0 &&
    [BN_STATS_KERNEL, BN_AFFINE_KERNEL, BN_GRAD_SUMS_KERNEL].every((k) => tf.getKernel(k, backend))
  );
}

// WASM kernels: [rows, C] views of the tensors, channels a multiple of 4 (fastPath checks).

const byteAt = (backend: WasmBackend, t: tf.TensorInfo) => wordOffset(backend, t) * 4;
const channelsOf = (t: tf.TensorInfo) => t.shape[t.shape.length - 1]!;
const rowsOf = (t: tf.TensorInfo) => t.shape.reduce((a, b) => a * b, 1) / channelsOf(t);

function loops(backend: WasmBackend) {
  const l = batchNormLoopsFor(backend);
  const sums = columnSumsFor(backend);
  if (!l || !sums) throw new Error('batchNormTraining: WebAssembly SIMD over the heap is unavailable');
  return { ...l, sums };
}

export const wasmBatchNormStats: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const b = backend as unknown as WasmBackend;
  const { sums, sqdev } = loops(b);
  const [rows, cols] = [rowsOf(x), channelsOf(x)];
  const mean = b.makeOutput([cols], 'float32');
  const variance = b.makeOutput([cols], 'float32');
  sums(byteAt(b, x), rows, cols, byteAt(b, mean), rows);
  sqdev(byteAt(b, x), rows, cols, byteAt(b, mean), byteAt(b, variance), rows);
  return [mean, variance];
};

export const wasmBatchNormAffine: tf.KernelFunc = ({ inputs, backend }) => {
  const { x, mean, a, b: shift, z, e } = inputs as Record<string, tf.TensorInfo>;
  const b = backend as unknown as WasmBackend;
  const { affine, affine2 } = loops(b);
  const [rows, cols] = [rowsOf(x!), channelsOf(x!)];
  const out = b.makeOutput(x!.shape, 'float32');
  const at = (t: tf.TensorInfo | undefined) => byteAt(b, t!);
  if (z && e) affine2(at(x), at(z), rows, cols, at(mean), at(a), at(e), at(shift), at(out));
  else affine(at(x), rows, cols, at(mean), at(a), at(shift), at(out));
  return out;
};

export const wasmBatchNormGradSums: tf.KernelFunc = ({ inputs, backend }) => {
  const { x, dy, mean } = inputs as Record<string, tf.TensorInfo>;
  const b = backend as unknown as WasmBackend;
  const { dsums } = loops(b);
  const [rows, cols] = [rowsOf(x!), channelsOf(x!)];
  const s1 = b.makeOutput([cols], 'float32');
  const s2 = b.makeOutput([cols], 'float32');
  dsums(byteAt(b, x!), byteAt(b, dy!), rows, cols, byteAt(b, mean!), byteAt(b, s1), byteAt(b, s2));
  return [s1, s2];
};

/** Whether `backend` (the WASM backend) can run these kernels. */
export function wasmBatchNormAvailable(backend: unknown): boolean {
  const b = backend as WasmBackend;
  return batchNormLoopsFor(b) !== null && columnSumsFor(b) !== null;
}
