import type * as tf from '@tensorflow/tfjs';
import { convHelpers } from '../parallel/conv-helpers.js';
import { boundsOf, helperShare, MIN_SPLIT_MACS, orOnThisThread, splitLeading } from './conv-splits.js';
import type { WasmBackend } from './wasm-heap.js';

/**
 * Wraps a WASM matrix product kernel (BatchMatMul, _FusedMatMul) so that the helper threads compute
 * row blocks of a single [M, K] × [K, N] product: each thread reads its rows of `a` and all of
 * `b` (with its bias), which XNNPACK packs; the blocks are contiguous rows of the result. Exact: each
 * value is computed as the unsplit kernel computes it. Products with transposed operands reach
 * this wrapper already transposed (batch-matmul.ts).
 */
export function parallelMatMul(kernel: string, original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const helpers = convHelpers();
    const { a, ...others } = args.inputs as Record<string, tf.TensorInfo | undefined>;
    const b = others.b;
    const attrs = (args.attrs ?? {}) as unknown as tf.BatchMatMulAttrs;
    if (
      !helpers.length ||
      helpers.some((h) => h.busy) ||
      !a ||
      !b ||
      attrs.transposeA ||
      attrs.transposeB ||
      a.dtype !== 'float32' ||
      ![2, 3].includes(a.shape.length) ||
      a.shape.length !== b.shape.length ||
      (a.shape.length === 3 && (a.shape[0] !== 1 || b.shape[0] !== 1))
    ) {
      return original(args);
    }
    // [M, K] × [K, N] (tfjs passes 2-D products as they are) or [1, M, K] × [1, K, N].
    const [m, k] = a.shape.slice(-2) as [number, number];
    const n = b.shape[b.shape.length - 1]!;
    if (m * k * n < MIN_SPLIT_MACS) return original(args);
    const parts = Math.min(helpers.length + 1, m) - 1;
    if (parts < 1) return original(args);
    const call = { kernel, original, args, backend: args.backend as unknown as WasmBackend };
    const batch = a.shape.length === 3 ? [1] : [];
    return orOnThisThread(original, args, () =>
      splitLeading(
        call,
        {
          input: 'a',
          outShape: [...batch, m, n],
          outRow: n,
          kind: 'matmul',
          part: (r0, r1) => ({ offset: r0 * k, shape: [...batch, r1 - r0, k], attrs: args.attrs ?? {} }),
        },
        helpers.slice(0, parts),
        boundsOf(m, parts, helperShare.batch),
      ),
    );
  };
}
