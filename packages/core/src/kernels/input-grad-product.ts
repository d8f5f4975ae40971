import type * as tf from '@tensorflow/tfjs';
import { kernelPathTaken } from './kernel-trace.js';
import { callKernel, disposeInfos } from './kernel-utils.js';
import type { WasmBackend } from './wasm-heap.js';

type Info = tf.backend_util.Conv2DInfo;

/**
 * Whether the input gradient is cheaper as one matrix product and a scatter than as the gemm
 * path's per-phase product (gemm-conv.ts). The gemm path packs the whole filter transposed every
 * call (~2 ns a value); on deep layers with small maps (ResNet's last stage: 2×2 maps, a 9 MB
 * filter) that packing outweighs the slower product (XNNPACK, ~15 multiply-adds a ns against ~21)
 * and the scatter (~2 ns a value). Estimates in ns, fitted on WASM (bench kernel-conv-input-grad);
 * the product must win by a tenth to be used.
 */
export function inputGradProductPays(info: Info): boolean {
  const { batchSize: n, outHeight: oh, outWidth: ow, inChannels: ci, outChannels: co } = info;
  const m = n * oh * ow;
  const k = info.filterHeight * info.filterWidth * ci;
  const macs = m * k * co;
  const gemmPath = 2 * k * co + macs / 21.5;
  const product = macs / 15.5 + 2 * k * m + m * co;
  return product < 0.9 * gemmPath;
}

/**
 * dx by one matrix product and a scatter (col2im):
 *
 *   dPᵀ[(kh, kw, ci), (b, oh, ow)] = W[(kh, kw, ci), co] · dyᵀ[co, (b, oh, ow)]
 *   dx[b, oh·sh + kh − top, ow·sw + kw − left, ci] += dPᵀ[(kh, kw, ci), (b, oh, ow)]
 *
 * The filter is read as it lies in memory; XNNPACK packs only dyᵀ, the small operand.
 */
export function inputGradByProduct(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: Info,
): tf.TensorInfo {
  const { batchSize: n, inHeight: inH, inWidth: inW, inChannels: cin, outChannels: cout } = info;
  const { outHeight: outH, outWidth: outW, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const m = n * outH * outW;
  const k = kh * kw * cin;
  const f32 = 'float32' as const;
  const dyT = callKernel('Transpose', backend, { x: { ...dy, shape: [m, cout] } }, { perm: [1, 0] });
  const dPT = callKernel(
    'BatchMatMul',
    backend,
    { a: { dataId: filter.dataId, shape: [1, k, cout], dtype: f32 }, b: { ...dyT, shape: [1, cout, m] } },
    { transposeA: false, transposeB: false },
  );
  disposeInfos(backend, dyT);
  const dx = backend.makeOutput([n, inH, inW, cin], f32);
  const src = backend.typedArrayFromHeap(dPT);
  const dst = backend.typedArrayFromHeap(dx);
  dst.fill(0);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const tap = (i * kw + j) * cin * m;
      for (let b = 0; b < n; b++) {
        for (let oh = 0; oh < outH; oh++) {
          const h = oh * sh + i - top;
          if (h < 0 || h >= inH) continue;
          for (let ow = 0; ow < outW; ow++) {
            const w = ow * sw + j - left;
            if (w < 0 || w >= inW) continue;
            const col = (b * outH + oh) * outW + ow;
            const to = ((b * inH + h) * inW + w) * cin;
            for (let c = 0; c < cin; c++) dst[to + c]! += src[tap + c * m + col]!;
          }
        }
      }
    }
  }
  disposeInfos(backend, dPT);
  kernelPathTaken('product.inputGrad');
  return dx;
}
