import type * as tf from '@tensorflow/tfjs';
import { callKernel, disposeInfos } from './kernel-utils.js';
import type { WasmBackend } from './wasm-heap.js';

export interface InputGradGeometry {
  n: number;
  inH: number;
  inW: number;
  cin: number;
  cout: number;
  kh: number;
  kw: number;
  stride: number;
  top: number;
  left: number;
  outH: number;
  outW: number;
}

/**
 * Whether dx is cheaper as one matrix product and a scatter than as the sub-pixel convolution: on
 * deep layers with small maps the filter dwarfs dy, and the convolution pays for rearranging and
 * packing the whole filter (~17 ns a value) and runs its arithmetic at about half the speed of a
 * plain matrix product. Estimates in ns, measured on WASM; the product must win by half to be used.
 */
export function gemmPays(g: InputGradGeometry): boolean {
  const m = g.n * g.outH * g.outW;
  const k = g.kh * g.kw * g.cin;
  const macs = m * k * g.cout;
  const subPixel = 17 * k * g.cout + macs / 7.5;
  const gemm = macs / 14 + 3 * k * m + 7 * m * g.cout;
  return gemm < subPixel / 2;
}

/**
 * dx by one matrix product and a scatter (col2im):
 *
 *   dPᵀ[(kh, kw, ci), (b, oh, ow)] = W[(kh, kw, ci), co] · dyᵀ[co, (b, oh, ow)]
 *   dx[b, oh·s + kh − top, ow·s + kw − left, ci] += dPᵀ[(kh, kw, ci), (b, oh, ow)]
 *
 * The filter is read as it lies in memory; XNNPACK packs only dyᵀ, the small operand.
 */
export function inputGradByGemm(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  g: InputGradGeometry,
): tf.TensorInfo {
  const { n, inH, inW, cin, cout, kh, kw, stride: s, top, left, outH, outW } = g;
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
          const h = oh * s + i - top;
          if (h < 0 || h >= inH) continue;
          for (let ow = 0; ow < outW; ow++) {
            const w = ow * s + j - left;
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
  return dx;
}
