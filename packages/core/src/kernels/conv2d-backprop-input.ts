import * as tf from '@tensorflow/tfjs';
import { gemmPays, inputGradByGemm } from './input-grad-gemm.js';
import { callKernel, disposeInfos, TensorCache } from './kernel-utils.js';
import { onDisposal, type WasmBackend } from './wasm-heap.js';

/**
 * Conv2DBackpropInput (the input gradient of conv2d, and conv2dTranspose's forward pass) composed
 * from the backend's fast Conv2D, for WASM whose own kernel is a slow direct loop (~10× a conv of
 * the same size).
 *
 * Sub-pixel decomposition: with stride s, output row i = q·s + r − pad gets contributions only from
 * filter taps k ≡ r (mod s). Each of the s² phases (r_h, r_w) is therefore a stride-1 correlation of
 * dy with the flipped sub-filter W[r::s]; stacking the phases along output channels makes it ONE
 * stride-1 conv, and a depth-to-space shuffle interleaves the phases back into the full-resolution result.
 * The arithmetic equals the true cost (no multiplications by inserted zeros). On deep layers with
 * small maps, where the filter dwarfs dy, one matrix product and a scatter serve instead
 * (input-grad-gemm.ts).
 */
export const conv2DBackpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    attrs as unknown as tf.Conv2DBackpropInputAttrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropInput: only NHWC (channelsLast) is supported');
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const {
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
    inChannels: cin,
    outChannels: cout,
  } = info;
  const [n, inH, inW] = inputShape as [number, number, number, number];
  const [, outH, outW] = dy.shape as [number, number, number, number];
  if (sh !== sw)
    throw new Error('Conv2DBackpropInput: unequal strides are not supported by the composite kernel');
  const s = sh;
  const mh = Math.ceil(kh / s);
  const mw = Math.ceil(kw / s);
  const { top, left } = info.padInfo;

  const geometry = { n, inH, inW, cin, cout, kh, kw, stride: s, top, left, outH, outW };
  if (gemmPays(geometry)) return inputGradByGemm(backend as unknown as WasmBackend, dy, filter, geometry);
  const phaseFilter = phaseFilterOf(backend as unknown as WasmBackend, filter, {
    kh,
    kw,
    cin,
    cout,
    s,
    mh,
    mw,
  });
  if (s === 1) {
    // One phase: shifting the padding by the forward pass' own makes the conv's output exactly dx,
    // with no rows computed only to be cut (at 2×2 and 'same' that would be 2.25× the work).
    const pads = [mh - 1 - top, inH - outH + top, mw - 1 - left, inW - outW + left];
    if (pads.every((p) => p >= 0)) {
      const dx = conv2d(backend, dy, phaseFilter, [pads[0]!, pads[1]!], [pads[2]!, pads[3]!]);
      if (dx.shape[1] === inH && dx.shape[2] === inW) return dx;
      disposeInfos(backend, dx);
    }
  }
  // Z[q] for q up to the last input row any phase needs: (in + top − 1) / s.
  const zh = Math.floor((inH + top - 1) / s) + 1;
  const zw = Math.floor((inW + left - 1) / s) + 1;
  const conv = conv2d(
    backend,
    dy,
    phaseFilter,
    [mh - 1, Math.max(0, zh - outH)],
    [mw - 1, Math.max(0, zw - outW)],
  );
  const out = interleavePhases(backend as unknown as WasmBackend, conv, { n, s, cin, top, left, inH, inW });
  disposeInfos(backend, conv);
  return out;
};

/**
 * dx[b, y, x, :] = Z[b, ⌊Y/s⌋, ⌊X/s⌋, phase (Y mod s, X mod s)] for Y = y + top, X = x + left: the
 * depth-to-space shuffle of the stacked phases and the crop to the input's size in one pass of
 * channel-run copies (as WASM kernels, a rank-6 Transpose and a Slice that moved 3 floats at a time
 * cost more than the convolution on small layers).
 */
function interleavePhases(
  backend: WasmBackend,
  z: tf.TensorInfo,
  g: { n: number; s: number; cin: number; top: number; left: number; inH: number; inW: number },
): tf.TensorInfo {
  const { n, s, cin, top, left, inH, inW } = g;
  const [, zh, zw, pixel] = z.shape as [number, number, number, number];
  const out = backend.makeOutput([n, inH, inW, cin], 'float32');
  const src = backend.typedArrayFromHeap(z);
  const dst = backend.typedArrayFromHeap(out);
  let to = 0;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < inH; y++) {
      const Y = y + top;
      const row = (b * zh + Math.floor(Y / s)) * zw * pixel + (Y % s) * s * cin;
      if (s === 1) {
        dst.set(src.subarray(row + left * cin, row + (left + inW) * cin), to);
        to += inW * cin;
        continue;
      }
      for (let x = 0; x < inW; x++) {
        const X = x + left;
        const from = row + Math.floor(X / s) * pixel + (X % s) * cin;
        if (cin >= 16) dst.set(src.subarray(from, from + cin), to);
        else for (let c = 0; c < cin; c++) dst[to + c] = src[from + c]!;
        to += cin;
      }
    }
  }
  return out;
}

/** A stride-1 Conv2D with explicit [before, after] padding of rows and columns. */
function conv2d(
  backend: unknown,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  rows: [number, number],
  cols: [number, number],
): tf.TensorInfo {
  return callKernel(
    'Conv2D',
    backend,
    { x, filter },
    {
      strides: [1, 1],
      pad: [[0, 0], rows, cols, [0, 0]],
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined as unknown as string,
    },
  );
}

interface PhaseGeometry {
  kh: number;
  kw: number;
  cin: number;
  cout: number;
  s: number;
  mh: number;
  mw: number;
}

/**
 * The stacked, flipped sub-filters: V[jh, jw, d, rh, rw, c] = W[(mh−1−jh)·s + rh, (mw−1−jw)·s + rw, c, d]
 * (zero past the filter's edge). A plain JS loop: WASM's rank-6 Transpose and Reverse were 10× slower
 * than the convolution itself. Cached per filter buffer while that buffer lives, because a step uses
 * the same weights for several calls (a generator's forward pass, each backward pass through a
 * discriminator); a weight update gives the variable a new buffer, so a stale entry is never hit.
 */
function phaseFilterOf(backend: WasmBackend, filter: tf.TensorInfo, g: PhaseGeometry): tf.TensorInfo {
  const hit = cache.get(filter.dataId, backend);
  if (hit) return hit;
  const { kh, kw, cin, cout, s, mh, mw } = g;
  const w = backend.typedArrayFromHeap(filter); // read before anything is allocated
  const out = new Float32Array(mh * mw * cout * s * s * cin);
  let o = 0;
  for (let jh = 0; jh < mh; jh++) {
    for (let jw = 0; jw < mw; jw++) {
      for (let d = 0; d < cout; d++) {
        for (let rh = 0; rh < s; rh++) {
          const y = (mh - 1 - jh) * s + rh;
          for (let rw = 0; rw < s; rw++) {
            const x = (mw - 1 - jw) * s + rw;
            if (y >= kh || x >= kw) {
              o += cin; // zero taps past the filter's edge
              continue;
            }
            const base = (y * kw + x) * cin * cout + d;
            for (let c = 0; c < cin; c++) out[o++] = w[base + c * cout]!;
          }
        }
      }
    }
  }
  const info = backend.makeOutput([mh, mw, cout, s * s * cin], 'float32');
  backend.typedArrayFromHeap(info).set(out);
  cache.set(filter.dataId, backend, info);
  onDisposal(backend, dropPhaseFilter);
  return info;
}

/** Rearranged filters, each dropped when its filter is freed (or, unused, after 16 newer ones). */
const cache = new TensorCache(16);
const dropPhaseFilter = (dataId: object) => cache.delete(dataId);
