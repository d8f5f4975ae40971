// Which of skingan's own kernel paths a call took. Tests install a tracer to check that a case ran
// the loop it is meant to exercise (a passing parity test proves nothing if tfjs' kernel ran
// instead); without one, tracing is a single check of an empty set.

/** A path: the SIMD convolution loops (gemm-conv.ts) or the input gradient as one product (input-grad-product.ts). */
export type KernelPath = 'gemm.forward' | 'gemm.inputGrad' | 'gemm.filterGrad' | 'product.inputGrad';

export type KernelTracer = (path: KernelPath) => void;

const tracers = new Set<KernelTracer>();

/** Calls `tracer` with each path taken from now on; returns the function that removes it. */
export function traceKernelPaths(tracer: KernelTracer): () => void {
  tracers.add(tracer);
  return () => tracers.delete(tracer);
}

/** Reports a path taken to the installed tracers, if any. */
export function kernelPathTaken(path: KernelPath): void {
  if (tracers.size === 0) return;
  for (const tracer of tracers) tracer(path);
}
