import * as tf from '@tensorflow/tfjs';
import { InstanceNormalization } from './instance-normalization.js';
import { LAYER_PACKAGE } from './layer-utils.js';
import { PaddedConv2D, PaddedConv2DTranspose, PaddedUpConv2D } from './padded-conv.js';
import { ReflectionPadding2D } from './reflection-padding.js';

/** The custom layer classes of a saved CycleGAN generator or discriminator. */
export const CYCLEGAN_LAYERS = [
  ReflectionPadding2D,
  InstanceNormalization,
  PaddedConv2D,
  PaddedConv2DTranspose,
  PaddedUpConv2D,
] as const;

/**
 * Registers the custom layers with tfjs' serialization registry, so `tf.loadLayersModel` can
 * rebuild a saved network. Importing this package already does it; call it explicitly when a
 * bundler may have dropped the package's module-level registration (the package declares
 * `sideEffects: false`). Idempotent.
 */
export function registerCycleganLayers(): void {
  for (const cls of CYCLEGAN_LAYERS) tf.serialization.registerClass(cls, LAYER_PACKAGE);
}
