import * as tf from '@tensorflow/tfjs';
import { type AdamFactors, adamLoopFor } from './simd-adam.js';
import { type WasmBackend, wordOffset } from './wasm-heap.js';

/** The kernel behind `adamStep` where a backend has one (WASM: a SIMD loop over the heap). */
export const ADAM_STEP_KERNEL = 'SkinganAdamStep';

/** One Adam update's scalars: see `adamStep`. */
export interface AdamStepFactors {
  beta1: number;
  beta2: number;
  eps: number;
  /** Multiplies √v' in the denominator: 1/√(1 − β₂ᵗ) for the usual bias correction. */
  sqrtScale: number;
  /** lr/(1 − β₁ᵗ). */
  stepSize: number;
  /** Multiplies the parameter before the step (decoupled weight decay 1 − lr·wd); default 1. */
  decay?: number;
}

/**
 * One Adam update of a parameter, as PyTorch and fastai compute it:
 *
 *   m' = β₁·m + (1 − β₁)·g,  v' = β₂·v + (1 − β₂)·g²,
 *   p' = p·decay − (m' / (√v'·sqrtScale + ε))·stepSize
 *
 * Returns [p', m', v'] (new tensors; the caller assigns them). On WASM one SIMD pass over memory;
 * elsewhere the same arithmetic from tfjs ops, float32 throughout either way.
 */
export function adamStep(
  param: tf.Tensor,
  grad: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  h: AdamStepFactors,
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const attrs = factorsOf(h);
  if (
    tf.getKernel(ADAM_STEP_KERNEL, tf.getBackend()) &&
    param.dtype === 'float32' &&
    grad.dtype === 'float32'
  ) {
    const sizes = [grad, m, v].map((t) => t.size);
    if (sizes.some((s) => s !== param.size)) {
      throw new Error(`adamStep: sizes differ (parameter ${param.size}, gradient and moments ${sizes})`);
    }
    const out = tf
      .engine()
      .runKernel(ADAM_STEP_KERNEL, { p: param, g: grad, m, v }, { ...attrs }) as tf.Tensor[];
    return [out[0]!, out[1]!, out[2]!];
  }
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, attrs.beta1), tf.mul(grad, attrs.oneMinusBeta1));
    const v2 = tf.add(tf.mul(v, attrs.beta2), tf.mul(tf.mul(grad, grad), attrs.oneMinusBeta2));
    const denom = tf.add(tf.mul(tf.sqrt(v2), attrs.c), attrs.eps);
    const p2 = tf.sub(tf.mul(param, attrs.decay), tf.mul(tf.div(m2, denom), attrs.stepSize));
    return [p2, m2, v2] as [tf.Tensor, tf.Tensor, tf.Tensor];
  });
}

function factorsOf(h: AdamStepFactors): AdamFactors {
  return {
    beta1: h.beta1,
    oneMinusBeta1: 1 - h.beta1,
    beta2: h.beta2,
    oneMinusBeta2: 1 - h.beta2,
    c: h.sqrtScale,
    eps: h.eps,
    stepSize: h.stepSize,
    decay: h.decay ?? 1,
  };
}

/** The WASM kernel: three outputs, then the SIMD loop writes them. */
export const wasmAdamStep: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
  const wasm = backend as unknown as WasmBackend;
  const loop = adamLoopFor(wasm);
  if (!loop) throw new Error(`${ADAM_STEP_KERNEL}: WebAssembly SIMD over the heap is unavailable`);
  const outs = [p, m, v].map((t) => wasm.makeOutput(t.shape, 'float32'));
  const [pOut, mOut, vOut] = outs as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
  const at = (t: tf.TensorInfo) => wordOffset(wasm, t) * 4;
  const n = p.shape.reduce((a, b) => a * b, 1);
  loop(
    { p: at(p), g: at(g), m: at(m), v: at(v), pOut: at(pOut), mOut: at(mOut), vOut: at(vOut) },
    n,
    attrs as unknown as AdamFactors,
  );
  return outs;
};

/** Whether `backend` (the WASM backend) can run the SIMD loop. */
export function wasmAdamAvailable(backend: unknown): boolean {
  return adamLoopFor(backend as WasmBackend) !== null;
}
