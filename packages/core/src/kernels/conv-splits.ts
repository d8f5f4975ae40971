import * as tf from '@tensorflow/tfjs';
import {
  type ConvHelper,
  type HelperConstant,
  type HelperResult,
  retireConvHelper,
} from '../parallel/conv-helpers.js';
import { forgetTensor, ownPart, partKey, wholeKey } from './filter-parts.js';
import { kernelPathTaken } from './kernel-trace.js';
import { single } from './kernel-utils.js';
import {
  onDisposal,
  releaseView,
  sliceColumns,
  viewOf,
  type WasmBackend,
  writeColumns,
} from './wasm-heap.js';

// The three ways parallel-conv.ts splits a convolution between this thread and the helpers. Each
// posts the helpers' shares, runs its own share through the backend's kernel and merges the results
// into one output tensor.

export interface ConvInputs {
  x: tf.TensorInfo;
  filter: tf.TensorInfo;
  bias?: tf.TensorInfo;
  preluActivationWeights?: tf.TensorInfo;
}

/** One call of a conv kernel being split. */
export interface SplitCall {
  kernel: string;
  /** The backend's own kernel, for this thread's share. */
  original: tf.KernelFunc;
  args: Parameters<tf.KernelFunc>[0];
  backend: WasmBackend;
}

/** Which balance a split feeds: rows behave like images (each thread packs the whole filter). */
export type SplitKind = 'batch' | 'channels';

/**
 * Below this many multiply-adds (≈1.5 ms of one thread's work) a conv or product stays on this
 * thread: a hand-off costs ~0.1 ms plus the copies.
 */
export const MIN_SPLIT_MACS = 15e6;

/**
 * The share of the work the helpers take, per kind of split, adjusted after each split so that all
 * threads finish together (this thread also copies the helpers' inputs and merges their results).
 */
export const helperShare: Record<SplitKind, number> = { batch: 0.5, channels: 0.5 };

function rebalance(kind: SplitKind, share: number, ownMs: number, helperMs: number): void {
  if (ownMs <= 0 || helperMs <= 0) return;
  const ownRate = (1 - share) / ownMs;
  const helperRate = share / helperMs;
  const ideal = helperRate / (helperRate + ownRate);
  helperShare[kind] = Math.min(0.75, Math.max(0.25, 0.8 * helperShare[kind] + 0.2 * ideal));
}

/** Boundaries [0, b1, …, bk, total]: helper i takes [b_i, b_i+1), this thread the last range. */
export function boundsOf(total: number, helpers: number, share: number): number[] {
  const each = Math.max(
    1,
    Math.min(Math.floor((total - 1) / helpers), Math.round((total * share) / helpers)),
  );
  return [...Array.from({ length: helpers + 1 }, (_, i) => i * each), total];
}

/** Constants for a helper: the inputs other than x, whole. */
export function wholeInputs(
  backend: WasmBackend,
  others: Record<string, tf.TensorInfo | undefined>,
): Record<string, HelperConstant> {
  const constants: Record<string, HelperConstant> = {};
  for (const [name, t] of Object.entries(others)) {
    if (t)
      constants[name] = {
        key: wholeKey(t.dataId, t.shape),
        shape: t.shape,
        read: () => backend.typedArrayFromHeap(t),
      };
  }
  return constants;
}

/** What one part of a split along leading rows reads: a contiguous range of the split input. */
export interface RowPart {
  /** Offset (in values) into the split input, and the shape of the part read. */
  offset: number;
  shape: number[];
  attrs: tf.NamedAttrMap;
}

export interface LeadingSplit {
  /** The input split along its leading rows (`x`, or `a` of a matrix product). */
  input: string;
  /** The whole result's shape, and how many values one of its leading rows holds. */
  outShape: number[];
  outRow: number;
  kind: 'batch' | 'rows' | 'matmul';
  /** What output rows [r0, r1) read. */
  part(r0: number, r1: number): RowPart;
}

/**
 * The split shared by images of a batch, rows of one image and rows of a matrix product: each part
 * reads a contiguous range of the split input (this thread through a view, no copy) and yields a
 * contiguous range of the result's leading rows. Helper i computes rows [bounds[i], bounds[i+1]),
 * this thread the last range; the other inputs go to the helpers whole.
 */
export function splitLeading(
  { kernel, original, args, backend }: SplitCall,
  spec: LeadingSplit,
  helpers: ConvHelper[],
  bounds: number[],
): tf.TensorInfo {
  const { [spec.input]: source, ...others } = args.inputs as Record<string, tf.TensorInfo>;
  const constants = wholeInputs(backend, others);
  const total = bounds[bounds.length - 1]!;
  const own = bounds[helpers.length]!;
  const jobs = helpers.map((helper, i) => () => {
    const [r0, r1] = [bounds[i]!, bounds[i + 1]!];
    const { offset, shape, attrs } = spec.part(r0, r1);
    const end = offset + shape.reduce((a, b) => a * b, 1);
    const data = backend.typedArrayFromHeap(source!).subarray(offset, end);
    const outSize = (r1 - r0) * spec.outRow;
    helper.post({ kernel, x: { name: spec.input, data, shape }, constants, attrs, outSize });
  });
  kernelPathTaken(`split.${spec.kind}`);
  return runSplit(
    'batch',
    own / total,
    backend,
    helpers,
    jobs,
    () => {
      const { offset, shape, attrs } = spec.part(own, total);
      const view = viewOf(backend, source!, offset, shape);
      try {
        return single(original({ ...args, inputs: { ...args.inputs, [spec.input]: view }, attrs }));
      } finally {
        releaseView(backend, view);
      }
    },
    (mine, results) => {
      const out = backend.makeOutput(spec.outShape, 'float32');
      const heap = backend.typedArrayFromHeap(out);
      for (const [i, r] of results.entries()) heap.set(r.data, bounds[i]! * spec.outRow);
      heap.set(backend.typedArrayFromHeap(mine), own * spec.outRow);
      return out;
    },
  );
}

/** Splits by images: helper i takes images [bounds[i], bounds[i+1]), this thread the last range. */
export function splitBatch(call: SplitCall, helpers: ConvHelper[], bounds: number[]): tf.TensorInfo {
  const { x } = call.args.inputs as unknown as ConvInputs;
  const [n, h, w, cin] = x.shape as [number, number, number, number];
  const [, oh, ow, oc] = outShape(call.args);
  const attrs = call.args.attrs ?? {};
  return splitLeading(
    call,
    {
      input: 'x',
      outShape: [n, oh, ow, oc],
      outRow: oh * ow * oc,
      kind: 'batch',
      part: (r0, r1) => ({ offset: r0 * h * w * cin, shape: [r1 - r0, h, w, cin], attrs }),
    },
    helpers,
    bounds,
  );
}

/**
 * Splits one image by output rows: helper i computes rows [bounds[i], bounds[i+1]) from the input
 * rows they read (explicit padding where the part touches the image's edge), this thread the last range.
 */
export function splitRows(call: SplitCall, helpers: ConvHelper[], bounds: number[]): tf.TensorInfo {
  const { x } = call.args.inputs as unknown as ConvInputs;
  const [, inH, w, cin] = x.shape as [number, number, number, number];
  const info = convInfo(call.args);
  const { top, left, right } = info.padInfo;
  const { strideHeight: sh, dilationHeight: dh, filterHeight: kh, outHeight, outWidth, outChannels } = info;
  return splitLeading(
    call,
    {
      input: 'x',
      outShape: [1, outHeight, outWidth, outChannels],
      outRow: outWidth * outChannels,
      kind: 'rows',
      part: (r0, r1) => {
        const first = r0 * sh - top; // input rows read, padding included
        const last = (r1 - 1) * sh - top + (kh - 1) * dh;
        const a = Math.max(0, first);
        const b = Math.min(inH, last + 1);
        const pad = [
          [0, 0],
          [a - first, last + 1 - b],
          [left, right],
          [0, 0],
        ];
        const attrs = {
          ...(call.args.attrs ?? {}),
          pad,
          dimRoundingMode: undefined,
        } as unknown as tf.NamedAttrMap;
        return { offset: a * w * cin, shape: [1, b - a, w, cin], attrs };
      },
    },
    helpers,
    bounds,
  );
}

/** Splits by output channels: helper i takes [bounds[i], bounds[i+1]), this thread the last range. */
export function splitChannels(
  { kernel, original, args, backend }: SplitCall,
  helpers: ConvHelper[],
  bounds: number[],
): tf.TensorInfo {
  const { x, filter, bias } = args.inputs as unknown as ConvInputs;
  const cout = filter.shape[3]!;
  const c0 = bounds[helpers.length]!; // this thread: [c0, cout)
  const [n, oh, ow] = outShape(args);
  const jobs = helpers.map((helper, i) => () => {
    const [a, b] = [bounds[i]!, bounds[i + 1]!];
    const constants: Record<string, HelperConstant> = {
      filter: {
        key: partKey(filter.dataId, a, b),
        shape: [...filter.shape.slice(0, 3), b - a],
        read: () => sliceColumns(backend.typedArrayFromHeap(filter), cout, a, b),
      },
    };
    if (bias) {
      constants.bias = {
        key: partKey(bias.dataId, a, b),
        shape: [b - a],
        read: () => backend.typedArrayFromHeap(bias).subarray(a, b),
      };
    }
    const data = backend.typedArrayFromHeap(x);
    helper.post({
      kernel,
      x: { data, shape: x.shape },
      constants,
      attrs: args.attrs ?? {},
      outSize: n * oh * ow * (b - a),
    });
  });
  kernelPathTaken('split.channels');
  return runSplit(
    'channels',
    c0 / cout,
    backend,
    helpers,
    jobs,
    () => {
      const ownFilter = ownPart(backend, filter, c0, cout);
      const ownBias = bias ? ownPart(backend, bias, c0, cout) : undefined;
      return single(
        original({
          ...args,
          inputs: { ...args.inputs, filter: ownFilter, ...(ownBias ? { bias: ownBias } : {}) },
        }),
      );
    },
    (mine, results) => {
      const out = backend.makeOutput([n, oh, ow, cout], 'float32');
      const heap = backend.typedArrayFromHeap(out);
      for (const [i, r] of results.entries()) writeColumns(heap, cout, bounds[i]!, r.data);
      writeColumns(heap, cout, c0, backend.typedArrayFromHeap(mine));
      return out;
    },
  );
}

/** Thrown by a split whose helper failed (the helper is retired): recompute on this thread. */
export class HelperFailure extends Error {
  constructor() {
    super('a conv helper failed');
  }
}

/** Runs a split; if a helper failed, the whole call again with the backend's kernel on this thread. */
export function orOnThisThread(
  original: tf.KernelFunc,
  args: Parameters<tf.KernelFunc>[0],
  split: () => tf.TensorInfo,
): tf.TensorInfo | tf.TensorInfo[] {
  try {
    return split();
  } catch (err) {
    if (err instanceof HelperFailure) return original(args);
    throw err;
  }
}

/**
 * Posts the helpers' jobs, computes this thread's share, collects every answer (also when this
 * thread failed, so that no answer is left over for the next job) and merges.
 */
export function runSplit(
  kind: SplitKind,
  share: number,
  backend: WasmBackend,
  helpers: ConvHelper[],
  jobs: (() => void)[],
  computeOwn: () => tf.TensorInfo,
  merge: (own: tf.TensorInfo, results: HelperResult[]) => tf.TensorInfo,
): tf.TensorInfo {
  // What the helpers (and this thread) keep of an input is dropped when the input is freed.
  onDisposal(backend, forgetTensor);
  const start = performance.now();
  let ownMs = 0;
  let posted = 0;
  let own: tf.TensorInfo | undefined;
  let failure: unknown;
  let helperFailed = false;
  try {
    for (const [i, post] of jobs.entries()) {
      try {
        post();
      } catch (err) {
        retireConvHelper(helpers[i]!, err);
        helperFailed = true;
        break;
      }
      posted++;
    }
    if (!helperFailed) {
      own = computeOwn();
      ownMs = performance.now() - start;
    }
  } catch (err) {
    failure = err;
  }
  const results: HelperResult[] = [];
  for (const helper of helpers.slice(0, posted)) {
    try {
      results.push(helper.collect());
    } catch (err) {
      helperFailed = true;
      retireConvHelper(helper, err);
    }
  }
  if (failure !== undefined || !own || helperFailed) {
    if (own) backend.disposeData(own.dataId);
    // A helper's failure is not the model's: the caller recomputes the whole call on this thread.
    if (failure === undefined && helperFailed) throw new HelperFailure();
    throw failure;
  }
  rebalance(kind, share, ownMs, Math.max(...results.map((r) => r.ms)));
  try {
    return merge(own, results);
  } finally {
    backend.disposeData(own.dataId);
  }
}

/** [n, outHeight, outWidth, outChannels] of a conv kernel call. */
export function outShape(args: Parameters<tf.KernelFunc>[0]): [number, number, number, number] {
  const info = convInfo(args);
  return [info.batchSize, info.outHeight, info.outWidth, info.outChannels];
}

function convInfo(args: Parameters<tf.KernelFunc>[0]): tf.backend_util.Conv2DInfo {
  const { x, filter } = args.inputs as unknown as ConvInputs;
  const a = args.attrs as unknown as tf.Conv2DAttrs;
  return tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    a.dilations,
    a.pad,
    a.dimRoundingMode,
  );
}
