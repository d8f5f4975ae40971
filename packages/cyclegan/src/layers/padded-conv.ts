import {
  type Interpolation,
  type LayerArgs,
  layerConfig,
  single,
  upConv2d,
  upConvTaps,
  withBias,
} from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { LAYER_PACKAGE, nhwc } from './layer-utils.js';

export interface PaddedConvArgs extends LayerArgs {
  filters: number;
  /** Square kernel side. */
  kernelSize: number;
  /** Default 1. */
  strides?: number;
  /** Zero rows/columns added on every side, as PyTorch's `padding`. Default 0. */
  padding?: number;
  /** Default true. */
  useBias?: boolean;
}

export interface PaddedConv2DTransposeArgs extends PaddedConvArgs {
  /** Extra rows/columns at the bottom/right of the output, as PyTorch's `output_padding`. Default 0. */
  outputPadding?: number;
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

function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${v}`);
}

/** What the two convolution layers share: weights (created as zeros: initialize after building) and config. */
abstract class PaddedConvBase extends tf.layers.Layer {
  readonly filters: number;
  readonly kernelSize: number;
  readonly strides: number;
  readonly padding: number;
  readonly useBias: boolean;
  protected kernel: tf.LayerVariable | null = null;
  protected bias: tf.LayerVariable | null = null;

  constructor(args: PaddedConvArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.strides = args.strides ?? 1;
    this.padding = args.padding ?? 0;
    this.useBias = args.useBias ?? true;
    checkInt('filters', this.filters, 1);
    checkInt('kernelSize', this.kernelSize, 1);
    checkInt('strides', this.strides, 1);
    checkInt('padding', this.padding, 0);
  }

  protected abstract kernelShape(inChannels: number): number[];

  /** Output height or width for an input of `size`. */
  protected abstract outSize(size: number): number;

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = nhwc(inputShape);
    const out = (d: number | null | undefined) => (d == null ? null : this.outSize(d));
    return [n ?? null, out(h), out(w), this.filters];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const inC = nhwc(inputShape)[3];
    if (inC == null) throw new Error(`${this.name}: the channel count of the input must be known`);
    this.kernel = this.addWeight('kernel', this.kernelShape(inC), 'float32', tf.initializers.zeros());
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  protected weightsOf(): [tf.Tensor4D, tf.Tensor1D | null] {
    if (!this.kernel) throw new Error(`${this.name} is not built`);
    return [this.kernel.read() as tf.Tensor4D, (this.bias?.read() as tf.Tensor1D | undefined) ?? null];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      ...layerConfig(this, ['filters', 'kernelSize', 'strides', 'padding', 'useBias']),
    };
  }
}

/**
 * 2-D convolution with PyTorch's `Conv2d` padding (`padding` zeros on every side) instead of
 * tfjs' 'same'/'valid', so layer outputs line up with the reference implementation. Kernel
 * [k, k, inC, filters]. Plain tf ops: on WASM, @skingan/core's registered kernels serve the
 * convolution and both its gradients, and tfjs skips the input gradient where nothing needs it.
 */
export class PaddedConv2D extends PaddedConvBase {
  static readonly className = 'PaddedConv2D';

  protected kernelShape(inChannels: number): number[] {
    return [this.kernelSize, this.kernelSize, inChannels, this.filters];
  }

  protected outSize(size: number): number {
    return Math.floor((size + 2 * this.padding - this.kernelSize) / this.strides) + 1;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [w, b] = this.weightsOf();
    // A numeric pad is PyTorch's: that many zero rows/columns on every side.
    return withBias(() => tf.conv2d(single(inputs) as tf.Tensor4D, w, this.strides, this.padding), b);
  }
}
tf.serialization.registerClass(PaddedConv2D, LAYER_PACKAGE);

/**
 * Transposed 2-D convolution with PyTorch's `ConvTranspose2d` semantics (`padding`,
 * `outputPadding`): k3 s2 p1 op1 doubles height and width exactly as the CycleGAN reference does.
 * Kernel [k, k, filters, inC] (tfjs' conv2dTranspose layout).
 */
export class PaddedConv2DTranspose extends PaddedConvBase {
  static readonly className = 'PaddedConv2DTranspose';
  readonly outputPadding: number;

  constructor(args: PaddedConv2DTransposeArgs) {
    super(args);
    this.outputPadding = args.outputPadding ?? 0;
    checkInt('outputPadding', this.outputPadding, 0);
    if (this.outputPadding >= this.strides) {
      throw new Error(`outputPadding (${this.outputPadding}) must be smaller than strides (${this.strides})`);
    }
  }

  protected kernelShape(inChannels: number): number[] {
    return [this.kernelSize, this.kernelSize, this.filters, inChannels];
  }

  protected outSize(size: number): number {
    return convTransposeOutSize(size, this.kernelSize, this.strides, this.padding, this.outputPadding);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [w, b] = this.weightsOf();
    const x = single(inputs) as tf.Tensor4D;
    const [n, h, wd] = x.shape;
    // The adjoint of conv2d(·, w, strides, padding) on an output `outputPadding` larger than the least.
    const outShape: [number, number, number, number] = [n, this.outSize(h), this.outSize(wd), this.filters];
    return withBias(() => tf.conv2dTranspose(x, w, outShape, this.strides, this.padding), b);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), outputPadding: this.outputPadding };
  }
}
tf.serialization.registerClass(PaddedConv2DTranspose, LAYER_PACKAGE);

export interface PaddedUpConvArgs extends Omit<PaddedConvArgs, 'strides' | 'padding'> {
  /** How the map is doubled before the conv. Default `nearest`. */
  interpolation?: Interpolation;
}

/**
 * 2× upsampling (nearest or bilinear) followed by a k×k stride-1 conv with ⌊k/2⌋ zeros of padding
 * (PyTorch's `Upsample` then `Conv2d`): the resize-convolution against the checkerboard that the
 * reference's stride-2 transposed convs draw (Odena et al. 2016). Computed as one stride-2
 * transposed conv with a kernel derived from the conv's (core's `upConvKernel`), so it costs a
 * transposed conv on the small map (k = 3, nearest: 16/9 of the reference's k3 transposed conv),
 * not a conv on the 4× larger one. Kernel [k, k, inC, filters], as `PaddedConv2D`'s.
 */
export class PaddedUpConv2D extends PaddedConvBase {
  static readonly className = 'PaddedUpConv2D';
  readonly interpolation: Interpolation;
  private readonly taps: number[][];

  constructor(args: PaddedUpConvArgs) {
    // A deserialized config carries the base's stride and padding: keep them at what this computes.
    super({ ...args, strides: 1, padding: Math.floor((args.kernelSize - 1) / 2) });
    this.interpolation = args.interpolation ?? 'nearest';
    this.taps = upConvTaps(this.kernelSize, this.interpolation);
  }

  protected kernelShape(inChannels: number): number[] {
    return [this.kernelSize, this.kernelSize, inChannels, this.filters];
  }

  protected outSize(size: number): number {
    return 2 * size;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const [w, b] = this.weightsOf();
    return upConv2d(single(inputs) as tf.Tensor4D, w, b, this.taps);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), interpolation: this.interpolation };
  }
}
tf.serialization.registerClass(PaddedUpConv2D, LAYER_PACKAGE);

export function paddedConv2d(args: PaddedConvArgs): PaddedConv2D {
  return new PaddedConv2D(args);
}

export function paddedConv2dTranspose(args: PaddedConv2DTransposeArgs): PaddedConv2DTranspose {
  return new PaddedConv2DTranspose(args);
}
