import * as tf from '@tensorflow/tfjs';
import { callKernel, disposeInfos } from './kernel-utils.js';

/**
 * Conv2DBackpropInput (the input gradient of conv2d, and conv2dTranspose's forward pass) composed
 * from the backend's fast Conv2D, for WASM whose own kernel is a slow direct loop (~10× a conv of
 * the same size).
 *
 * Sub-pixel decomposition: with stride s, output row i = q·s + r − pad gets contributions only from
 * filter taps k ≡ r (mod s). Each of the s² phases (r_h, r_w) is therefore a stride-1 correlation of
 * dy with the flipped sub-filter W[r::s]; stacking the phases along output channels makes it ONE
 * stride-1 conv, and a depth-to-space shuffle interleaves the phases back into the full-resolution result.
 * The arithmetic equals the true cost (no multiplications by inserted zeros).
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

  // Filter [kh, kw, cin, cout] → [mh, mw, cout, s·s·cin], phases (r_h, r_w) in DepthToSpace order.
  const padded = callKernel(
    'PadV2',
    backend,
    { x: filter },
    {
      paddings: [
        [0, mh * s - kh],
        [0, mw * s - kw],
        [0, 0],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  const split = callKernel('Reshape', backend, { x: padded }, { shape: [mh, s, mw, s, cin, cout] });
  const flipped = callKernel('Reverse', backend, { x: split }, { dims: [0, 2] });
  const ordered = callKernel('Transpose', backend, { x: flipped }, { perm: [0, 2, 5, 1, 3, 4] });
  const phaseFilter = callKernel('Reshape', backend, { x: ordered }, { shape: [mh, mw, cout, s * s * cin] });
  disposeInfos(backend, padded, split, flipped, ordered);

  // Z[q] for q up to the last input row any phase needs: (in + top − 1) / s.
  const zh = Math.floor((inH + top - 1) / s) + 1;
  const zw = Math.floor((inW + left - 1) / s) + 1;
  const conv = callKernel(
    'Conv2D',
    backend,
    { x: dy, filter: phaseFilter },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [mh - 1, Math.max(0, zh - outH)],
        [mw - 1, Math.max(0, zw - outW)],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [1, 1],
      dimRoundingMode: undefined as unknown as string,
    },
  );
  disposeInfos(backend, phaseFilter);
  let full = conv;
  if (s > 1) {
    // DepthToSpace as reshape/transpose: WASM's own DepthToSpace kernel is ~10× slower.
    const [, ch, cw] = conv.shape as [number, number, number, number];
    const r6 = callKernel('Reshape', backend, { x: conv }, { shape: [n, ch, cw, s, s, cin] });
    const t6 = callKernel('Transpose', backend, { x: r6 }, { perm: [0, 1, 3, 2, 4, 5] });
    full = callKernel('Reshape', backend, { x: t6 }, { shape: [n, ch * s, cw * s, cin] });
    disposeInfos(backend, conv, r6, t6);
  }
  const out = callKernel(
    'Slice',
    backend,
    { x: full },
    { begin: [0, top, left, 0], size: [n, inH, inW, cin] },
  );
  disposeInfos(backend, full);
  return out;
};
