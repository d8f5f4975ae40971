import { singleShape } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';

/** The one NHWC shape of a one-input layer, as tfjs-layers passes it to build/computeOutputShape. */
export function nhwc(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
  const s = singleShape(inputShape);
  if (s.length !== 4) throw new Error(`expected an NHWC input (rank 4), got shape [${s.join(', ')}]`);
  return s;
}

/**
 * Package under which the layers are registered (tfjs' custom-object registry keys them
 * `skingan>Class`; saved topologies name them by their className, which is what loading looks up).
 */
export const LAYER_PACKAGE = 'skingan';
