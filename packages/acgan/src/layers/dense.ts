import { lastAxis, layerConfig, single, singleShape, withBias } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { KernelLayer, type KernelLayerArgs } from './kernel-layer.js';

export interface DenseArgs extends KernelLayerArgs {
  units: number;
  /** Add a bias (default true). */
  useBias?: boolean;
}

/**
 * x·W (+ b) on [B, features] inputs, optionally with the spectrally normalised W: the discriminator's
 * heads when `discriminator.spectralNorm` is on (tf.layers.dense otherwise) and its projection
 * embedding. Weights `kernel` [in, units], `bias` [units] (with `useBias`), and with `spectralNorm`
 * the non-trainable `sn_u` [units], `sn_v` [in].
 */
export class Dense extends KernelLayer {
  static readonly className = 'SkinganDense';
  readonly units: number;
  readonly useBias: boolean;

  constructor(args: DenseArgs) {
    super(args);
    this.units = args.units;
    this.useBias = args.useBias ?? true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    this.addKernel([lastAxis(this, inputShape, 'feature'), this.units], this.useBias ? this.units : null);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return [...singleShape(inputShape).slice(0, -1), this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = single(inputs) as tf.Tensor2D;
    return tf.tidy(() => {
      const [kernel, bias] = this.kernelAndBias<tf.Tensor2D>();
      return withBias(() => tf.matMul(x, kernel), bias);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), ...layerConfig(this, ['units', 'useBias', 'spectralNorm']) };
  }
}
