import type * as tf from '@tensorflow/tfjs';

/** tfjs-layers' `LayerArgs` (not exported by @tensorflow/tfjs under that name). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** The single input of a one-input layer (tfjs passes a tensor or a one-element list). */
export function single<T>(inputs: T | T[]): T {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/** The one NHWC shape of a one-input layer, as tfjs-layers passes it to build/computeOutputShape. */
export function nhwc(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
  if (s.length !== 4) throw new Error(`expected an NHWC input (rank 4), got shape [${s.join(', ')}]`);
  return s;
}

/**
 * Package under which the layers are registered (tfjs' custom-object registry keys them
 * `skingan>Class`; saved topologies name them by their className, which is what loading looks up).
 */
export const LAYER_PACKAGE = 'skingan';
