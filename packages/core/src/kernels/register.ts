import * as tf from '@tensorflow/tfjs';
import {
  _FusedMatMul,
  BatchMatMul,
  Concat,
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  Identity,
  MaxPoolGrad,
  Mean,
  OneHot,
  Pack,
  Slice,
  Sum,
  UnsortedSegmentSum,
} from '@tensorflow/tfjs';
import { ADAM_STEP_KERNEL, wasmAdamAvailable, wasmAdamStep } from './adam-step.js';
import { transposeOperandsFirst } from './batch-matmul.js';
import { fusedBatchNormGrad } from './batch-norm-grad.js';
import {
  BN_AFFINE_KERNEL,
  BN_GRAD_SUMS_KERNEL,
  BN_STATS_KERNEL,
  wasmBatchNormAffine,
  wasmBatchNormAvailable,
  wasmBatchNormGradSums,
  wasmBatchNormStats,
} from './batch-norm-training.js';
import { conv2DBackpropFilter } from './conv2d-backprop-filter.js';
import { heapConcat, heapPack, heapSlice, sharedIdentity } from './copy-kernels.js';
import { gemmConv, gemmFilterGrad, gemmInputGrad } from './gemm-conv.js';
import { leadingAxesReduce } from './leading-axes-reduce.js';
import { maxPoolGradByWindows } from './max-pool-grad.js';
import { fixedOneHot } from './one-hot.js';
import { unsortedSegmentSum } from './unsorted-segment-sum.js';

/** The training kernels skingan adds to a backend that lacks them. */
export const COMPOSITE_KERNELS: readonly { kernelName: string; kernelFunc: tf.KernelFunc }[] = [
  { kernelName: Conv2DBackpropFilter, kernelFunc: conv2DBackpropFilter },
  { kernelName: UnsortedSegmentSum, kernelFunc: unsortedSegmentSum },
];

/** The kernels skingan put in place on a backend. */
export interface TrainingKernels {
  /** Kernels the backend lacked. */
  added: string[];
  /** Kernels the backend had but that were wrong or slow, now wrapped or recomposed. */
  replaced: string[];
}

/**
 * Registers each composite kernel the backend does not have and, on WASM, replaces the kernels
 * known to be wrong or slow. Idempotent.
 */
export function registerTrainingKernels(backendName: string): TrainingKernels {
  const added: string[] = [];
  for (const k of COMPOSITE_KERNELS) {
    if (tf.getKernel(k.kernelName, backendName)) continue;
    tf.registerKernel({ kernelName: k.kernelName, backendName, kernelFunc: k.kernelFunc });
    added.push(k.kernelName);
  }
  // The fused Adam update, where WASM's heap can be reached from a SIMD module of our own.
  const wasm = backendName === 'wasm' ? tf.findBackend('wasm') : null;
  if (wasm && !tf.getKernel(ADAM_STEP_KERNEL, 'wasm') && wasmAdamAvailable(wasm)) {
    tf.registerKernel({ kernelName: ADAM_STEP_KERNEL, backendName, kernelFunc: wasmAdamStep });
    added.push(ADAM_STEP_KERNEL);
  }
  // BatchNorm's training passes (batchNormTraining), likewise.
  if (wasm && !tf.getKernel(BN_STATS_KERNEL, 'wasm') && wasmBatchNormAvailable(wasm)) {
    const kernels: [string, tf.KernelFunc][] = [
      [BN_STATS_KERNEL, wasmBatchNormStats],
      [BN_AFFINE_KERNEL, wasmBatchNormAffine],
      [BN_GRAD_SUMS_KERNEL, wasmBatchNormGradSums],
    ];
    for (const [kernelName, kernelFunc] of kernels) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
      added.push(kernelName);
    }
  }
  const replaced = backendName === 'wasm' ? patchWasmKernels() : [];
  // Gradients are backend-independent: the faster batch-norm gradient serves every backend.
  tf.registerGradient(fusedBatchNormGrad);
  return { added, replaced: [...replaced, 'FusedBatchNorm (gradient)'] };
}

const CONVOLUTIONS: string[] = [Conv2D, FusedConv2D, Conv2DBackpropInput];

/** A replacement of a WASM kernel: `wrap` receives the kernel in place (tfjs' own, or an earlier entry's). */
interface KernelReplacement {
  kernelName: string;
  wrap: (original: tf.KernelFunc) => tf.KernelFunc;
}

/**
 * The WASM kernels that exist but are wrong or slow, replaced in this order by wrappers or
 * compositions of the backend's own fast kernels; each replacement is tested against the cpu backend.
 */
const WASM_REPLACEMENTS: readonly KernelReplacement[] = [
  { kernelName: OneHot, wrap: (original) => fixedOneHot(original) },
  { kernelName: Slice, wrap: heapSlice },
  { kernelName: Concat, wrap: heapConcat },
  { kernelName: Pack, wrap: heapPack },
  { kernelName: MaxPoolGrad, wrap: maxPoolGradByWindows },
  { kernelName: Identity, wrap: sharedIdentity },
  { kernelName: Sum, wrap: (original) => leadingAxesReduce(Sum, original) },
  { kernelName: Mean, wrap: (original) => leadingAxesReduce(Mean, original) },
  { kernelName: BatchMatMul, wrap: transposeOperandsFirst },
  { kernelName: _FusedMatMul, wrap: transposeOperandsFirst },
  // skingan's own SIMD loops where they apply (gemm-conv.ts), once startGemmThreads has run.
  { kernelName: Conv2D, wrap: gemmConv },
  { kernelName: FusedConv2D, wrap: gemmConv },
  { kernelName: Conv2DBackpropInput, wrap: gemmInputGrad },
  { kernelName: Conv2DBackpropFilter, wrap: gemmFilterGrad },
];

/** What doctor reports: each replaced kernel once (not those added), the convolutions with how they run. */
const WASM_REPLACED = [
  ...new Set(
    WASM_REPLACEMENTS.map((r) => r.kernelName).filter(
      (n) => !CONVOLUTIONS.includes(n) && !COMPOSITE_KERNELS.some((k) => k.kernelName === n),
    ),
  ),
  `${CONVOLUTIONS.join(', ')} (SIMD loops of skingan split over threads; where they do not apply (dilated, non-float32, other fused activations), tfjs' own kernels)`,
];
let wasmPatched = false;

/** Replaces the WASM kernels of WASM_REPLACEMENTS, once per process. */
function patchWasmKernels(): string[] {
  if (wasmPatched) return WASM_REPLACED;
  wasmPatched = true;
  for (const r of WASM_REPLACEMENTS) replaceKernel(r.kernelName, r.wrap);
  return WASM_REPLACED;
}

function replaceKernel(name: string, wrap: (original: tf.KernelFunc) => tf.KernelFunc): void {
  const original = tf.getKernel(name, 'wasm');
  if (!original) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: wrap(original.kernelFunc) });
}
