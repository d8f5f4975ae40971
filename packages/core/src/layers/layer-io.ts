import type * as tf from '@tensorflow/tfjs';

// What every custom tfjs layer of the models needs: its one input, its input's shape and its config.

/** tfjs-layers' `LayerArgs` (not exported by @tensorflow/tfjs under that name). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/** The single input of a one-input layer (tfjs passes a tensor or a one-element list). */
export function single<T>(inputs: T | T[]): T {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/** The shape of a one-input layer's input, as tfjs-layers passes it to build/computeOutputShape. */
export function singleShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
}

/** The size of a one-input layer's input's last axis (channels, features), which `build` needs. */
export function lastAxis(layer: tf.layers.Layer, inputShape: tf.Shape | tf.Shape[], what: string): number {
  const shape = singleShape(inputShape);
  const n = shape[shape.length - 1];
  if (typeof n !== 'number') throw new Error(`${layer.name}: the ${what} dimension must be known`);
  return n;
}

/**
 * The named fields of a layer, for its `getConfig` (a saved topology lists them in this order): the
 * arguments that rebuild it.
 */
export function layerConfig<L extends object>(
  layer: L,
  keys: readonly (keyof L & string)[],
): tf.serialization.ConfigDict {
  return Object.fromEntries(keys.map((k) => [k, layer[k] as tf.serialization.ConfigDictValue]));
}
