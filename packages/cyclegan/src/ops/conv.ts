import * as tf from '@tensorflow/tfjs';
import { AdjointKernels } from './adjoint-kernels.js';
import { convAdjoint, explicitPads } from './conv-adjoint.js';
import { customOp } from './custom-op.js';
import { spatialMean } from './spatial-mean.js';

/**
 * Convolutions with PyTorch's padding semantics (symmetric zero padding `pad`, and
 * `outputPadding` for the transposed convolution), whose gradients use forward convolutions only.
 *
 * Why: tfjs-backend-wasm's Conv2DBackpropInput (the input gradient of every convolution, and the
 * forward pass of every transposed convolution) is a plain loop, 10-15× slower than its XNNPACK
 * Conv2D. That gradient is itself a convolution of the upstream gradient with the rotated kernel
 * (conv-adjoint.ts), which XNNPACK runs. Filter gradients go through the backend's
 * Conv2DBackpropFilter (skingan's composite kernel on WASM, registered by @skingan/core).
 */

/**
 * Supplies the adjoint kernels of a layer's current weights. Layers cache them per weight version;
 * without a source the op builds them for the one call.
 */
export type AdjointKernelSource = () => AdjointKernels;

function withKernels<T>(
  w: tf.Tensor4D,
  source: AdjointKernelSource | undefined,
  f: (k: AdjointKernels) => T,
): T {
  if (source) return f(source());
  const kernels = new AdjointKernels(w);
  try {
    return f(kernels);
  } finally {
    kernels.dispose();
  }
}

/** The filter gradient of `conv2d(x, ·, stride, pad)` for upstream gradient `dy`. */
export function convFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  stride: number,
  pad: number,
): tf.Tensor4D {
  return tf.engine().runKernel(
    'Conv2DBackpropFilter',
    { x, dy } as unknown as tf.NamedTensorMap,
    {
      strides: [stride, stride],
      pad: explicitPads(pad, pad, pad, pad),
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
      filterShape,
    } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor4D;
}

/** Σ over batch and space of an NHWC tensor (the bias gradient), via a whole-image average pool (see spatialMean). */
export function sumToChannels(t: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => {
    const [n, h, w, c] = t.shape;
    const perImage = tf.mul(spatialMean(t), h * w).reshape([n, c]);
    return (n === 1 ? perImage.reshape([c]) : tf.sum(perImage, 0)) as tf.Tensor1D;
  });
}

/**
 * `y = conv2d(x, w, stride, pad) + b` with PyTorch's `Conv2d(padding=pad)` semantics (zero
 * padding on every side). `w`: [kh, kw, inC, outC]. Keeps only `x` and `w` for backprop.
 */
export function conv2d(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | null,
  stride: number,
  pad: number,
  kernels?: AdjointKernelSource,
): tf.Tensor4D {
  const [, inH, inW] = x.shape;
  const inputs = b ? { x, w, b } : { x, w };
  return customOp(
    'SkinganConv2D',
    inputs as Record<'x' | 'w' | 'b', tf.Tensor>,
    (save) => {
      save([x, w]);
      const y = tf.conv2d(x, w, stride, explicitPads(pad, pad, pad, pad));
      return b ? tf.add(y, b) : y;
    },
    (dy, saved) => {
      const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
      const g = dy as tf.Tensor4D;
      return {
        x: () => withKernels(sw, kernels, (k) => convAdjoint(g, k, inH, inW, stride, pad)),
        w: () => convFilterGrad(sx, g, sw.shape, stride, pad),
        b: () => sumToChannels(g),
      };
    },
  ) as tf.Tensor4D;
}

/** Output size of PyTorch's ConvTranspose2d along one axis. */
export function convTransposeOutSize(
  size: number,
  k: number,
  stride: number,
  pad: number,
  outputPadding: number,
): number {
  return (size - 1) * stride - 2 * pad + k + outputPadding;
}

/**
 * `y = conv_transpose2d(x, w, stride, pad, outputPadding) + b` with PyTorch's `ConvTranspose2d`
 * semantics: the adjoint of `conv2d(·, w, stride, pad)` on an output `outputPadding` rows/columns
 * taller/wider than the minimum. `w`: [kh, kw, outC, inC] (tfjs' conv2dTranspose layout). Keeps only
 * `x` and `w` for backprop.
 */
export function conv2dTranspose(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  b: tf.Tensor1D | null,
  stride: number,
  pad: number,
  outputPadding: number,
  kernels?: AdjointKernelSource,
): tf.Tensor4D {
  if (outputPadding >= stride)
    throw new Error(`conv2dTranspose: outputPadding ${outputPadding} must be < stride ${stride}`);
  const [kh, kw] = w.shape;
  const outH = convTransposeOutSize(x.shape[1], kh, stride, pad, outputPadding);
  const outW = convTransposeOutSize(x.shape[2], kw, stride, pad, outputPadding);
  const inputs = b ? { x, w, b } : { x, w };
  return customOp(
    'SkinganConv2DTranspose',
    inputs as Record<'x' | 'w' | 'b', tf.Tensor>,
    (save) => {
      save([x, w]);
      const y = withKernels(w, kernels, (k) => convAdjoint(x, k, outH, outW, stride, pad));
      return b ? tf.add(y, b) : y;
    },
    (dy, saved) => {
      const [sx, sw] = saved as [tf.Tensor4D, tf.Tensor4D];
      const g = dy as tf.Tensor4D;
      return {
        // The adjoint of the adjoint is the convolution itself.
        x: () => tf.conv2d(g, sw, stride, explicitPads(pad, pad, pad, pad)),
        // <conv(g; w), x> is linear in w: the filter gradient of conv(g, ·) for upstream x.
        w: () => convFilterGrad(g, sx, sw.shape, stride, pad),
        b: () => sumToChannels(g),
      };
    },
  ) as tf.Tensor4D;
}
