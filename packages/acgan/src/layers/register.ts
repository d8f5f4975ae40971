import * as tf from '@tensorflow/tfjs';
import { BatchNorm } from './batch-norm.js';
import { Conv2D } from './conv2d.js';
import { Dense } from './dense.js';
import { NearestUpConv2D } from './nearest-up-conv.js';
import { SeededDropout } from './seeded-dropout.js';

let registered = false;

/** Makes saved ACGAN models loadable (`tf.loadLayersModel` needs the custom layer classes); idempotent. */
export function registerAcganLayers(): void {
  if (registered) return;
  tf.serialization.registerClass(SeededDropout);
  tf.serialization.registerClass(BatchNorm);
  tf.serialization.registerClass(Conv2D);
  tf.serialization.registerClass(Dense);
  tf.serialization.registerClass(NearestUpConv2D);
  registered = true;
}
