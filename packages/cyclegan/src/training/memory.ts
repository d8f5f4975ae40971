import { countParams } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import type { CycleGanNets } from '../networks/cyclegan-nets.js';
import { type LayerPlan, layerPlan } from '../networks/layer-plan.js';

const F32 = 4;
/**
 * What a trainer may plan to use of the WASM heap: it cannot grow past 4 GiB (32-bit addresses),
 * and growing close to that fails (measured: 3.84 GiB reached, the next 256 MiB refused).
 */
export const WASM_HEAP_LIMIT = 3.75 * 2 ** 30;

/**
 * What backprop keeps of a layer, by class: its input (convolutions: x; ReLU, leaky ReLU: x; Add:
 * both inputs), its output (instance norm keeps its normalized output, tanh its output), or nothing
 * (reflection padding, whose gradient needs only shapes).
 */
const KEEPS: Record<string, { inputs: boolean; output: boolean }> = {
  PaddedConv2D: { inputs: true, output: false },
  PaddedConv2DTranspose: { inputs: true, output: false },
  PaddedUpConv2D: { inputs: true, output: false },
  InstanceNormalization: { inputs: false, output: true },
  ReflectionPadding2D: { inputs: false, output: false },
  ReLU: { inputs: true, output: false },
  LeakyReLU: { inputs: true, output: false },
  Add: { inputs: true, output: false },
  Activation: { inputs: false, output: true },
};

/** Bytes of one forward pass of a network on a batch of `batch` images of `size`². */
export interface PassMemory {
  /** Tensors the gradient tape keeps until the backward pass ends. */
  kept: number;
  /** Gradients of every intermediate tensor: tfjs frees them only when the backward pass ends. */
  gradients: number;
  /** The largest single activation (sizes the temporaries inside one op). */
  largest: number;
}

/** Walks a network's layers with concrete shapes and adds up what one training pass holds. */
export function passMemory(model: tf.LayersModel, batch: number, size: number): PassMemory {
  const plan: LayerPlan = layerPlan(model);
  const shapes = new Map<number, number[]>([
    [plan.input, [batch, size, size, model.inputs[0]!.shape[3] ?? 3]],
  ]);
  const bytes = (id: number) => shapes.get(id)!.reduce((a, b) => a * b, 1) * F32;
  const kept = new Set<number>();
  let gradients = 0;
  let largest = 0;
  for (const step of plan.steps) {
    const ins = step.inputs.map((id) => shapes.get(id)!);
    const out = step.layer.computeOutputShape(ins.length === 1 ? ins[0]! : ins) as number[];
    shapes.set(step.output, out);
    const rule = KEEPS[step.layer.getClassName()] ?? { inputs: true, output: true };
    if (rule.inputs) for (const id of step.inputs) kept.add(id);
    if (rule.output) kept.add(step.output);
    gradients += bytes(step.output);
    largest = Math.max(largest, bytes(step.output));
  }
  let keptBytes = 0;
  for (const id of kept) keptBytes += bytes(id);
  return { kept: keptBytes, gradients, largest };
}

export interface MemoryEstimate {
  /** Estimated peak of the WASM heap during training, bytes. */
  peakBytes: number;
  /** Parameters and everything kept per parameter (Adam moments, packed filter copies, gradient sums). */
  parameterBytes: number;
  /** Activations and gradients of the largest backward pass (A → B → A: G_A, D_A, G_B), with temporaries. */
  activationBytes: number;
  /** Image pools and input batches. */
  bufferBytes: number;
  /** Each part in MiB, for messages and run.json. */
  summary: Record<string, number>;
}

export interface MemoryConfig {
  size: number;
  loadSize: number;
  batchSize: number;
  poolSize: number;
}

/** WASM runtime, stacks and XNNPACK scratch: what a trainer's heap holds before its tensors. */
const BASELINE = 64 * 2 ** 20;

/**
 * Peak WASM heap of a training step, from the networks' layer shapes and what tfjs keeps, with two
 * coefficients measured on this backend (heap high-water mark after a step, 32²–256², ngf 16–64,
 * 3–9 blocks: the estimate is within about ±10% of it):
 * - parameters ×9: weights, Adam's two moments, the generator gradients being summed (≤ 3 copies)
 *   and XNNPACK's packed filter copies where its kernels run (core's convolution loops pack filters
 *   in their own memory, outside this heap);
 * - the largest backward pass, A → B → A (G_A, D_A on the fake, G_B): kept activations plus one
 *   gradient per intermediate tensor (tfjs frees them only when the pass ends), ×1.5 for op
 *   temporaries (instance norm makes 2-4 copies; the WASM filter gradient of a 7×7 conv unfolds
 *   its input into 7 copies) and allocator fragmentation;
 * - both image pools, the input batches and their crops, and a 64 MiB baseline.
 */
export function estimateTrainingMemory(nets: CycleGanNets, config: MemoryConfig): MemoryEstimate {
  const { size, batchSize: b } = config;
  const params = [nets.G_A, nets.G_B, nets.D_A, nets.D_B].reduce((n, m) => {
    const c = countParams(m);
    return n + c.trainable + c.nonTrainable;
  }, 0);
  const parameterBytes = params * F32 * 9;
  const g = passMemory(nets.G_A, b, size);
  const d = passMemory(nets.D_A, b, size);
  const chain = 2 * (g.kept + g.gradients) + d.kept + d.gradients;
  const activationBytes = Math.ceil(1.5 * (chain + (4 + 7) * g.largest));
  const image = size * size * 3 * F32;
  const bufferBytes =
    2 * config.poolSize * image + 2 * b * (config.loadSize * config.loadSize * 3 * F32 + 2 * image);
  const peakBytes = parameterBytes + activationBytes + bufferBytes + BASELINE;
  const mib = (x: number) => Math.round(x / 2 ** 20);
  return {
    peakBytes,
    parameterBytes,
    activationBytes,
    bufferBytes,
    summary: {
      peakMiB: mib(peakBytes),
      parametersMiB: mib(parameterBytes),
      activationsMiB: mib(activationBytes),
      buffersMiB: mib(bufferBytes),
    },
  };
}
