import { type KernelPath, traceKernelPaths } from '../kernels/kernel-trace.js';

/**
 * Counts each kernel path taken from now on, for the rest of the test file (vitest gives each file
 * its own module state). Read it as `paths['gemm.forward']`; copy it (`{ ...paths }`) to diff.
 */
export function countKernelPaths(): Record<KernelPath, number> {
  const counts: Record<KernelPath, number> = {
    'gemm.forward': 0,
    'gemm.inputGrad': 0,
    'gemm.filterGrad': 0,
    'product.inputGrad': 0,
  };
  traceKernelPaths((path) => {
    counts[path]++;
  });
  return counts;
}
