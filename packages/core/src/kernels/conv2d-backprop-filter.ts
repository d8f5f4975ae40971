import * as tf from '@tensorflow/tfjs';
import { callKernel, disposeInfos } from './kernel-utils.js';

/**
 * Conv2DBackpropFilter for backends that lack it (WASM), composed from the backend's own kernels.
 *
 *   dW[kh, kw, ci, co] = Σ_{n, oh, ow} xPad[n, oh·s + kh, ow·s + kw, ci] · dy[n, oh, ow, co]
 *
 * is a convolution of x viewed as [ci, H, W, n] (channels become the batch, the batch becomes the
 * channels) with dy viewed as a [oh, ow, n, co] filter dilated by the forward stride. The backend's
 * fast Conv2D (XNNPACK on WASM) then does all the arithmetic.
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
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dataFormat: 'NHWC',
      dilations: [sh, sw],
      dimRoundingMode: undefined as unknown as string,
    },
  );
  disposeInfos(backend, xT, dyT);
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
