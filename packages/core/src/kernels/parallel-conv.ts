import type * as tf from '@tensorflow/tfjs';
import { convHelpers } from '../parallel/conv-helpers.js';
import {
  boundsOf,
  type ConvInputs,
  helperShare,
  MIN_SPLIT_MACS,
  orOnThisThread,
  outShape,
  type SplitCall,
  splitBatch,
  splitChannels,
  splitRows,
} from './conv-splits.js';
import type { WasmBackend } from './wasm-heap.js';

/**
 * Costs on the main thread in ns per float, measured on WASM (tools/bench): XNNPACK packing a filter
 * it has not seen (its transposed copy plus packing), a contiguous copy, a strided one.
 */
const PACK_NS = 12;
const COPY_NS = 1.2;
const STRIDED_NS = 2;

/**
 * Wraps a WASM convolution kernel (Conv2D, FusedConv2D) so that the helper threads (see
 * conv-helpers.ts) compute part of it while this thread computes the rest; without helpers it is the
 * kernel itself. Two ways to split, both exact (each output value is computed as the unsplit kernel
 * computes it):
 * - by images of the batch (or, for one image, by output rows): each thread packs the whole filter,
 *   and reads and writes its images (rows);
 * - by output channels: each thread packs only its share of the filter, but reads every image.
 * XNNPACK packs a filter it has not seen at ~12 ns a float, which for the filter of a gradient
 * (always new) or deep layers costs as much as the arithmetic: the split with the smaller overhead
 * on this thread wins. The composite gradient kernels call Conv2D, so they are split the same way.
 */
export function parallelConv(kernel: string, original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const helpers = convHelpers();
    const inputs = args.inputs as unknown as ConvInputs;
    const { x, filter } = inputs;
    if (!helpers.length || helpers.some((h) => h.busy) || x?.dtype !== 'float32' || x.shape.length !== 4) {
      return original(args);
    }
    const [n, h, w, cin] = x.shape as [number, number, number, number];
    const [kh, kw, , cout] = filter.shape as [number, number, number, number];
    const [, oh, ow] = outShape(args);
    const outputs = n * oh * ow * cout;
    if (outputs * kh * kw * cin < MIN_SPLIT_MACS) return original(args);

    const backend = args.backend as unknown as WasmBackend;
    const channelsOk =
      cout >= 2 && !inputs.preluActivationWeights && (!inputs.bias || inputs.bias.shape[0] === cout);
    let plan = plans.get(filter.dataId);
    if (!plan || plan.helpers !== helpers.length) {
      plan = choosePlan(n * h * w * cin, kh * kw * cin * cout, outputs, cout, helpers.length);
      plans.set(filter.dataId, plan);
    }
    const call: SplitCall = { kernel, original, args, backend };
    const channels = plan.kind === 'channels' && channelsOk ? plan : undefined;
    const total = n === 1 ? oh : n; // one image: split its output rows
    const k = Math.min(helpers.length + 1, total) - 1;
    if (!channels && k < 1) return original(args);
    return orOnThisThread(original, args, () => {
      if (channels) return splitChannels(call, helpers.slice(0, channels.bounds.length - 2), channels.bounds);
      const bounds = boundsOf(total, k, helperShare.batch);
      return n === 1
        ? splitRows(call, helpers.slice(0, k), bounds)
        : splitBatch(call, helpers.slice(0, k), bounds);
    });
  };
}

/** A filter's split, decided when it is first seen. */
type Plan = { kind: 'batch'; helpers: number } | { kind: 'channels'; helpers: number; bounds: number[] };

/**
 * How each filter seen so far is split. A channel split keeps its boundaries for the filter's life:
 * the packed parts on every thread are what later calls with the same filter reuse.
 */
const plans = new WeakMap<object, Plan>();

/**
 * By images (rows) or by channels, whichever costs this thread less beyond its share of the
 * arithmetic, for a filter not packed yet: X input, F filter and O output values.
 */
function choosePlan(X: number, F: number, O: number, cout: number, helpers: number): Plan {
  const byBatch = PACK_NS * F + COPY_NS * (X / 2 + O);
  const byChannels = (PACK_NS / 2 + COPY_NS) * F + COPY_NS * X + STRIDED_NS * O;
  if (byBatch <= byChannels) return { kind: 'batch', helpers };
  const k = Math.min(helpers + 1, cout) - 1;
  return { kind: 'channels', helpers, bounds: boundsOf(cout, k, helperShare.channels) };
}
