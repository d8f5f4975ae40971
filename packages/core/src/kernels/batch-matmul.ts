import type * as tf from '@tensorflow/tfjs';
import { callKernel, disposeInfos } from './kernel-utils.js';

/**
 * tfjs-backend-wasm 4.22's BatchMatMul (and _FusedMatMul) are ~15–30× slower with `transposeA` or
 * `transposeB` than without: the transposed path skips the fast packed kernel. Every dense layer's
 * backward pass uses those flags. This wraps the backend's kernel: transpose the operand
 * explicitly (a cheap copy), then multiply without flags.
 */
export function transposeOperandsFirst(original: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) return original({ inputs, backend, attrs });
    const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const created: tf.TensorInfo[] = [];
    const swapLast = (x: tf.TensorInfo) => {
      const perm = x.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
      const t = callKernel('Transpose', backend, { x }, { perm });
      created.push(t);
      return t;
    };
    const a2 = transposeA ? swapLast(a) : a;
    const b2 = transposeB ? swapLast(b) : b;
    const out = original({
      inputs: { ...inputs, a: a2, b: b2 },
      backend,
      attrs: { ...attrs, transposeA: false, transposeB: false },
    });
    disposeInfos(backend, ...created);
    return out;
  };
}
