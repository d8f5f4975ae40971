import * as tf from '@tensorflow/tfjs';
import { callKernel, disposeInfos } from './kernel-utils.js';
import { heapWords, type WasmBackend, wordOffset } from './wasm-heap.js';

/**
 * Conv2DBackpropFilter for backends that lack it (WASM), composed from the backend's own kernels.
 *
 *   dW[kh, kw, ci, co] = Σ_{n, oh, ow} xPad[n, oh·s + kh, ow·s + kw, ci] · dy[n, oh, ow, co]
 *
 * is a convolution of x viewed as [ci, H, W, n] (channels become the batch, the batch becomes the
 * channels) with dy viewed as a [oh, ow, n, co] filter dilated by the forward stride. The backend's
 * fast Conv2D (XNNPACK on WASM) then does all the arithmetic. With few images that conv reduces
 * over runs of n values per tap, which XNNPACK does slowly; the unfolded form below then serves.
 */
export const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter: only NHWC (channelsLast) is supported');

  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, outHeight, outWidth } = info;
  const [, inH, inW] = x.shape as [number, number, number, number];
  const { top, left } = info.padInfo;
  // Pad so that exactly the rows/columns the forward pass read are covered; extra rows at the
  // bottom/right (never read when the stride does not divide evenly) are cut by the slice below.
  const bottom = Math.max(0, (outHeight - 1) * sh + kh - inH - top);
  const right = Math.max(0, (outWidth - 1) * sw + kw - inW - left);

  const wasm = backend as unknown as WasmBackend;
  const conv = unfoldPays(x.shape[0]!)
    ? unfoldedConv(wasm, x, dy, info)
    : batchAsChannelsConv(backend, x, dy, { sh, sw, top, bottom, left, right });
  // conv: [ci, >=kh, >=kw, co]
  let cropped = conv;
  if (conv.shape[1] !== kh || conv.shape[2] !== kw) {
    cropped = callKernel('Slice', backend, { x: conv }, { begin: [0, 0, 0, 0], size: [-1, kh, kw, -1] });
    disposeInfos(backend, conv);
  }
  const out = callKernel('Transpose', backend, { x: cropped }, { perm: [1, 2, 0, 3] });
  disposeInfos(backend, cropped);
  return out;
};

/** The conv above: x as [ci, H, W, n] (batch as channels) with dy as a [oh, ow, n, co] filter. */
function batchAsChannelsConv(
  backend: unknown,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  g: { sh: number; sw: number; top: number; bottom: number; left: number; right: number },
): tf.TensorInfo {
  const xT = callKernel('Transpose', backend, { x }, { perm: [3, 1, 2, 0] });
  const dyT = callKernel('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = callKernel(
    'Conv2D',
    backend,
    { x: xT, filter: dyT },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [g.top, g.bottom],
        [g.left, g.right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [g.sh, g.sw],
      dimRoundingMode: undefined as unknown as string,
    },
  );
  disposeInfos(backend, xT, dyT);
  return conv;
}

/** Whether the unfolded form is the faster: with few images, each filter tap of the other reads a run of n values. */
function unfoldPays(n: number): boolean {
  return n <= 4;
}

/**
 * The conv above with the output columns unfolded into channels: X[c, h, j, b·ow + o] =
 * xPad[b, h, o·sw + j, c] for each filter column j, and dy as an [oh, 1, n·ow, co] filter dilated by
 * sh along rows. One stride-1 conv of width-1 filter over the kw unfolded columns then gives
 * dW[·, ·, j, ·]. Its reduction runs over n·ow contiguous values per filter tap instead of n, which
 * XNNPACK does at full speed where the batch-as-channels form crawls (one image: 1 value per tap).
 */
function unfoldedConv(
  backend: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const [n, H, W, ci] = x.shape as [number, number, number, number];
  const co = dy.shape[3]!;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { outHeight: oh, outWidth: ow, padInfo } = info;
  const { top, left } = padInfo;
  const hp = (oh - 1) * sh + kh; // the padded rows the forward pass read
  const xT = callKernel('Transpose', backend, { x }, { perm: [3, 1, 0, 2] }); // [ci, H, n, W]
  const X = backend.makeOutput([ci, hp, kw, n * ow], 'float32');
  // One view of the whole heap: a view per copied row would cost more than the copy (rows are short).
  const heap = heapWords(backend);
  const src = wordOffset(backend, xT);
  const dst = wordOffset(backend, X);
  const run = n * ow;
  for (let c = 0; c < ci; c++) {
    for (let r = 0; r < hp; r++) {
      const h = r - top;
      let to = dst + (c * hp + r) * kw * run;
      if (h < 0 || h >= H) {
        heap.fill(0, to, to + kw * run);
        continue;
      }
      for (let j = 0; j < kw; j++) {
        // Columns o read w = o·sw + j − left: inside the image for o in [lo, hi), padding elsewhere.
        const lo = Math.min(ow, Math.max(0, Math.ceil((left - j) / sw)));
        const hi = Math.max(lo, Math.min(ow, Math.floor((W - 1 + left - j) / sw) + 1));
        for (let b = 0; b < n; b++) {
          const from = src + ((c * H + h) * n + b) * W + j - left;
          for (let o = 0; o < lo; o++) heap[to + o] = 0;
          if (sw === 1 && hi - lo >= 16) heap.copyWithin(to + lo, from + lo, from + hi);
          else for (let o = lo; o < hi; o++) heap[to + o] = heap[from + o * sw]!;
          for (let o = hi; o < ow; o++) heap[to + o] = 0;
          to += ow;
        }
      }
    }
  }
  disposeInfos(backend, xT);
  const dyT = n === 1 ? dy : callKernel('Transpose', backend, { x: dy }, { perm: [1, 0, 2, 3] });
  const filter = { dataId: dyT.dataId, shape: [oh, 1, n * ow, co], dtype: 'float32' as const };
  const conv = callKernel(
    'Conv2D',
    backend,
    { x: X, filter },
    {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [sh, 1],
      dimRoundingMode: undefined as unknown as string,
    },
  );
  disposeInfos(backend, X);
  if (dyT !== dy) disposeInfos(backend, dyT);
  return conv; // [ci, kh, kw, co]
}
