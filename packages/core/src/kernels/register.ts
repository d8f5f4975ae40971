import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilter } from './conv2d-backprop-filter.js';
import { unsortedSegmentSum } from './unsorted-segment-sum.js';

/** The training kernels skingan adds to a backend that lacks them. */
export const COMPOSITE_KERNELS: readonly { kernelName: string; kernelFunc: tf.KernelFunc }[] = [
  { kernelName: 'Conv2DBackpropFilter', kernelFunc: conv2DBackpropFilter },
  { kernelName: 'UnsortedSegmentSum', kernelFunc: unsortedSegmentSum },
];

/**
 * Registers each composite kernel the backend does not have. Idempotent; returns the names added
 * (an empty list when the backend already has them all).
 */
export function registerMissingKernels(backendName: string): string[] {
  const added: string[] = [];
  for (const k of COMPOSITE_KERNELS) {
    if (tf.getKernel(k.kernelName, backendName)) continue;
    tf.registerKernel({ kernelName: k.kernelName, backendName, kernelFunc: k.kernelFunc });
    added.push(k.kernelName);
  }
  return added;
}
