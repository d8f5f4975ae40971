import * as tf from '@tensorflow/tfjs';
import { GemmThreads } from '../parallel/gemm-threads.js';
import { inputGradByProduct, inputGradProductPays } from './input-grad-product.js';
import { kernelPathTaken } from './kernel-trace.js';
import { copyRows, heapFloats, type WasmBackend, wordOffset } from './wasm-heap.js';

/*
 * Convolutions and their two gradients on skingan's own SIMD loops (simd-gemm.ts), split over this
 * thread and the helper threads of one shared memory (gemm-threads.ts):
 * - forward (Conv2D, FusedConv2D with a bias and linear/relu): an indirect matrix product over the
 *   input's pixels, no unfolded copy;
 * - input gradient (Conv2DBackpropInput): the same product over the output gradient's pixels, one
 *   per phase of the stride (rows whose taps line up alike), so a stride of 2 skips the zeros a
 *   dilated formulation would multiply;
 * - filter gradient (Conv2DBackpropFilter): sums of outer products of input channels and output
 *   gradient rows, written straight into HWIO order.
 * Filters are packed by a plain copy each call: training changes them every step, and XNNPACK's
 * packing of an unseen filter (~12 ns a value) cost as much as the arithmetic on deep layers.
 */

let pool: GemmThreads | null = null;

/**
 * Starts the shared memory and `helpers` helper threads (again: replaces the previous ones). Where
 * the runtime has no shared WebAssembly memory or SIMD, the kernels keep tfjs' own; returns whether
 * the loops are on.
 */
export function startGemmThreads(helpers: number): boolean {
  pool?.close();
  try {
    pool = new GemmThreads(helpers);
  } catch {
    pool = null;
  }
  return pool !== null;
}

/** Threads that take a share of each call now: this one and the helpers that have started (0: off). */
export function gemmThreadCount(): number {
  return pool?.threads ?? 0;
}

/**
 * Resolves with `gemmThreadCount()` once every helper thread has started (they start in the
 * background; until then their shares run on this thread), or after `timeoutMs`: what a benchmark
 * awaits before timing.
 */
export async function gemmThreadsReady(timeoutMs = 60_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (pool && pool.threads < pool.planned && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
  }
  return gemmThreadCount();
}

/** Stops the helper threads; the kernels fall back to the backend's own until started again. */
export function stopGemmThreads(): void {
  pool?.close();
  pool = null;
}

/**
 * Byte offsets of regions in the shared memory, 64-byte aligned, laid out before anything is
 * written; first `zeroFloats` floats of zeros, what taps in the padding read.
 */
class Layout {
  private top = 64;
  readonly zeros: number;
  constructor(readonly zeroFloats: number) {
    this.zeros = this.take(zeroFloats);
  }
  take(floats: number): number {
    const at = this.top;
    this.top += Math.ceil((floats * 4 + 16) / 64) * 64; // 16 bytes of slack: SIMD reads past a row
    return at;
  }
  get bytes(): number {
    return this.top;
  }
  /**
   * The regions of an indirect product (simd-gemm.ts's igemm): `rows` rows in `blocks` blocks of 4,
   * `taps` pointers of `kc` values each per row, against `panels` panels of B; byte offsets of B and
   * of the pointer tables of A (`ind`) and C (`cind`).
   */
  product(rows: number, taps: number, kc: number, panels: number) {
    const blocks = Math.ceil(rows / 4);
    const B = this.take(panels * taps * kc * 8);
    const ind = this.take(blocks * taps * 4);
    return { rows, blocks, taps, kc, panels, B, ind, cind: this.take(blocks * 4) };
  }
}

/**
 * Whether a product should keep one panel of B in cache while it sweeps the rows: where B (k × n
 * floats) is larger than half of a core's L2 cache (~1 MiB here), sweeping B once per 4 rows would
 * stream it from L3 (deep layers: 9 MB for 3×3×512×512).
 */
const panelsOuter = (k: number, n: number) => (k * n * 4 > 512 * 1024 ? 1 : 0);

/** Splits [0, n) into one contiguous range per thread. */
function ranges(n: number, parts: number): [number, number][] {
  const k = Math.max(1, Math.min(parts, n));
  return Array.from({ length: k }, (_, i) => [Math.floor((n * i) / k), Math.floor((n * (i + 1)) / k)]);
}

type Product = ReturnType<Layout['product']>;

/**
 * Where a product's rows read and write. Its rows run over lines of `cols` columns:
 * `line(i, rowAt)` fills each tap's byte offset of line i's source row (-1 in the padding) and
 * returns where its results go (the first column, and the step between columns); `colAt[j·taps + t]`
 * is column j's offset within the row for tap t (-1 in the padding). Either part -1 points the tap
 * at zeros. Rows past the last (the last block's padding) read zeros and write from `spare.at` on,
 * `spare.step` bytes apart.
 */
interface Rows {
  cols: number;
  colAt: Int32Array;
  line: (i: number, rowAt: Int32Array) => { at: number; step: number };
  spare: { at: number; step: number };
}

/**
 * Writes the pointer tables of product `g` and runs it, its blocks split over the threads.
 * Computing the two parts of a pointer apart, once per line and once per column, keeps the
 * per-pointer work to an add: building the tables pixel by pixel cost more than the product on
 * small channel counts (a 7×7 layer on 3 channels).
 */
function product(threads: GemmThreads, p: Int32Array, zeros: number, g: Product, rows: Rows): void {
  const { cols, colAt, line, spare } = rows;
  const { taps, blocks } = g;
  const ind = g.ind >> 2;
  const cind = g.cind >> 2;
  const rowAt = new Int32Array(taps);
  let row = 0;
  for (let i = 0; row < g.rows; i++) {
    const { at, step } = line(i, rowAt);
    for (let j = 0; j < cols; j++, row++) {
      p[cind + row] = at + j * step;
      const base = ind + (row >> 2) * taps * 4 + (row & 3);
      for (let t = 0; t < taps; t++) {
        const r = rowAt[t]!;
        const c = colAt[j * taps + t]!;
        p[base + t * 4] = (r | c) < 0 ? zeros : r + c;
      }
    }
  }
  for (let k = 0; row < blocks * 4; row++, k++) {
    p[cind + row] = spare.at + k * spare.step;
    for (let t = 0; t < taps; t++) p[ind + ((row >> 2) * taps + t) * 4 + (row & 3)] = zeros;
  }
  const outer = panelsOuter(taps * g.kc, g.panels * 8);
  const jobs = ranges(blocks, threads.threads).map(([blockStart, blockEnd]) => ({
    ind: g.ind,
    cind: g.cind,
    blockStart,
    blockEnd,
    taps,
    kc: g.kc,
    b: g.B,
    panels: g.panels,
    panelsOuter: outer,
  }));
  threads.run('igemm', jobs);
}

/**
 * B's panels of 8 columns in JavaScript, for widths pack8 and packT8 do not take (not a multiple of
 * 8): dst[j·panelStep + r·8 + q] = src[r·rowStep + (8j + q)·colStep], zeros past the last column.
 */
function packPanels(
  src: Float32Array,
  srcAt: number,
  dst: Float32Array,
  dstAt: number,
  g: { rows: number; cols: number; rowStep: number; colStep: number; panelStep: number },
): void {
  for (let j = 0; j * 8 < g.cols; j++) {
    const width = Math.min(8, g.cols - j * 8);
    for (let r = 0; r < g.rows; r++) {
      const from = srcAt + r * g.rowStep + j * 8 * g.colStep;
      const to = dstAt + j * g.panelStep + r * 8;
      for (let q = 0; q < 8; q++) dst[to + q] = q < width ? src[from + q * g.colStep]! : 0;
    }
  }
}

/**
 * A call's output tensor (and its word offset in the heap) and views of both memories, valid until
 * the next allocation.
 */
interface Call {
  out: tf.TensorInfo;
  outAt: number;
  heap: Float32Array;
  f: Float32Array;
  p: Int32Array;
}

/** Copies `tensor` from the backend's heap to byte offset `at` of the shared memory. */
function copyIn(backend: WasmBackend, call: Call, tensor: tf.TensorInfo, at: number): void {
  const from = wordOffset(backend, tensor);
  call.f.set(call.heap.subarray(from, from + tf.util.sizeFromShape(tensor.shape)), at / 4);
}

/**
 * Makes room for `layout` (null where the shared memory cannot grow that far), the output tensor,
 * the layout's zeros and a copy of `input` at byte offset `inputAt`.
 */
function startCall(
  threads: GemmThreads,
  backend: WasmBackend,
  layout: Layout,
  outShape: number[],
  input: tf.TensorInfo,
  inputAt: number,
): Call | null {
  if (!threads.reserve(layout.bytes)) return null;
  const out = backend.makeOutput(outShape, 'float32');
  const f = new Float32Array(threads.memory.buffer);
  f.fill(0, layout.zeros / 4, layout.zeros / 4 + layout.zeroFloats);
  const p = new Int32Array(threads.memory.buffer);
  const call = { out, outAt: wordOffset(backend, out), heap: heapFloats(backend), f, p };
  copyIn(backend, call, input, inputAt);
  return call;
}

/** The forward convolution; null where this path does not apply (the caller then uses tfjs'). */
function gemmConvForward(
  c: Conv,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  epilogue?: { bias?: tf.TensorInfo; relu: boolean },
): tf.TensorInfo | null {
  const { threads, backend, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left } = c;
  const taps = kh * kw;
  const m = n * oh * ow;
  const panels = Math.ceil(co / 8);
  const co8 = panels * 8;

  const layout = new Layout(ci + 4);
  const X = layout.take(n * h * w * ci);
  const WS = layout.take(co % 8 === 0 ? taps * ci * co : 0); // the filter, copied for pack8
  const C = layout.take(Math.ceil(m / 4) * 4 * co8);
  const g = layout.product(m, taps, ci, panels);
  const call = startCall(threads, backend, layout, [n, oh, ow, co], x, X);
  if (!call) return null;
  const { out, outAt, heap, f, p } = call;

  // B: the HWIO filter is already [taps·ci, co]; panels of 8 output channels.
  const k = taps * ci;
  if (co % 8 === 0) {
    copyIn(backend, call, filter, WS);
    const jobs = ranges(k, threads.threads).map(([r0, r1]) => ({
      src: WS + r0 * co * 4,
      rows: r1 - r0,
      n: co,
      dst: g.B + r0 * 32,
      panelBytes: k * 32,
    }));
    threads.run('pack8', jobs);
  } else {
    const geometry = { rows: k, cols: co, rowStep: co, colStep: 1, panelStep: k * 8 };
    packPanels(heap, wordOffset(backend, filter), f, g.B / 4, geometry);
  }

  // Indirection: output pixel (oy, ox) reads input pixel (oy·sh + ky − top, ox·sw + kx − left) per tap.
  const colAt = new Int32Array(ow * taps);
  for (let ox = 0; ox < ow; ox++) {
    for (let t = 0; t < taps; t++) {
      const ix = ox * sw + (t % kw) - left;
      colAt[ox * taps + t] = ix >= 0 && ix < w ? ix * ci * 4 : -1;
    }
  }
  const line = (i: number, rowAt: Int32Array) => {
    const img = Math.floor(i / oh);
    const oy = i % oh;
    for (let t = 0; t < taps; t++) {
      const iy = oy * sh + Math.floor(t / kw) - top;
      rowAt[t] = iy >= 0 && iy < h ? X + (img * h + iy) * w * ci * 4 : -1;
    }
    return { at: C + i * ow * co8 * 4, step: co8 * 4 };
  };
  const spare = { at: C + m * co8 * 4, step: co8 * 4 }; // rows past m: spare rows of C
  product(threads, p, layout.zeros, g, { cols: ow, colAt, line, spare });
  kernelPathTaken('gemm.forward');

  copyRows(f, C / 4, heap, outAt, m, co, co8, co);
  if (epilogue) applyEpilogue(backend, heap, outAt, m, co, epilogue);
  return out;
}

function applyEpilogue(
  backend: WasmBackend,
  heap: Float32Array,
  at: number,
  rows: number,
  cols: number,
  { bias, relu }: { bias?: tf.TensorInfo; relu: boolean },
): void {
  const b = bias ? heap.subarray(wordOffset(backend, bias), wordOffset(backend, bias) + cols) : null;
  for (let r = 0; r < rows; r++) {
    const base = at + r * cols;
    for (let c = 0; c < cols; c++) {
      let v = heap[base + c]!;
      if (b) v = Math.fround(v + b[c]!);
      heap[base + c] = relu && v < 0 ? 0 : v;
    }
  }
}

/** The input gradient of a convolution: dX[N, H, W, Ci] from dY[N, OH, OW, Co] and the filter. */
function gemmConvInputGrad(c: Conv, dy: tf.TensorInfo, filter: tf.TensorInfo): tf.TensorInfo | null {
  const { threads, backend, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left } = c;
  const panels = Math.ceil(ci / 8);
  const ci8 = panels * 8;
  const mod = (a: number, s: number) => ((a % s) + s) % s;

  // One product per phase (py, px) of the stride: its rows iy ≡ py, ix ≡ px, and its taps.
  const phases: { py: number; px: number; taps: [number, number][]; rows: number }[] = [];
  for (let py = 0; py < sh; py++) {
    for (let px = 0; px < sw; px++) {
      const taps: [number, number][] = [];
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          if (mod(py + top - ky, sh) === 0 && mod(px + left - kx, sw) === 0) taps.push([ky, kx]);
        }
      }
      const rows = n * Math.ceil((h - py) / sh) * Math.ceil((w - px) / sw);
      if (rows > 0) phases.push({ py, px, taps, rows });
    }
  }

  const layout = new Layout(co + 4);
  const DY = layout.take(n * oh * ow * co);
  const WS = layout.take(ci % 8 === 0 ? kh * kw * ci * co : 0); // the filter, copied for packT8
  const C = layout.take((n * h * w + 4) * ci8); // 4 spare rows for blocks' padding
  const products = phases.map((ph) => layout.product(ph.rows, ph.taps.length, co, panels));
  const call = startCall(threads, backend, layout, [n, h, w, ci], dy, DY);
  if (!call) return null;
  const { out, outAt, heap, f, p } = call;
  if (ci % 8 === 0) copyIn(backend, call, filter, WS);
  const wAt = wordOffset(backend, filter);
  const spare = { at: C + n * h * w * ci8 * 4, step: 0 };

  phases.forEach((ph, i) => {
    const g = products[i]!;
    // (A phase no tap reaches, of a 1×1 filter with stride 2, sums nothing: its rows get zeros.)
    const { taps, B } = g;
    // B: per tap the filter's [ci, co] matrix transposed, in panels of 8 input channels.
    if (ci % 8 === 0) {
      // a tap per thread at a time
      const jobs = ph.taps.map(([ky, kx], t) => ({
        src: WS + (ky * kw + kx) * ci * co * 4,
        ci,
        co,
        dst: B + t * co * 32,
        panelBytes: taps * co * 32,
      }));
      for (let t = 0; t < taps; t += threads.threads)
        threads.run('packT8', jobs.slice(t, t + threads.threads));
    }
    for (let t = 0; t < taps && ci % 8 !== 0; t++) {
      const [ky, kx] = ph.taps[t]!;
      const src = wAt + (ky * kw + kx) * ci * co;
      const geometry = { rows: co, cols: ci, rowStep: 1, colStep: co, panelStep: taps * co * 8 };
      packPanels(heap, src, f, B / 4 + t * co * 8, geometry);
    }
    // Indirection: per tap, dy's pixel (oy, ox) = ((iy + top − ky) / sh, (ix + left − kx) / sw),
    // exact within a phase.
    const cols = Math.ceil((w - ph.px) / sw);
    const colAt = new Int32Array(cols * taps);
    for (let j = 0; j < cols; j++) {
      for (let t = 0; t < taps; t++) {
        const x = ph.px + j * sw + left - ph.taps[t]![1];
        colAt[j * taps + t] = x >= 0 && x / sw < ow ? (x / sw) * co * 4 : -1;
      }
    }
    const rowsPerImage = Math.ceil((h - ph.py) / sh);
    const line = (l: number, rowAt: Int32Array) => {
      const img = Math.floor(l / rowsPerImage);
      const iy = ph.py + (l % rowsPerImage) * sh;
      for (let t = 0; t < taps; t++) {
        const y = iy + top - ph.taps[t]![0];
        rowAt[t] = y >= 0 && y / sh < oh ? DY + (img * oh + y / sh) * ow * co * 4 : -1;
      }
      return { at: C + ((img * h + iy) * w + ph.px) * ci8 * 4, step: sw * ci8 * 4 };
    };
    product(threads, p, layout.zeros, g, { cols, colAt, line, spare });
  });

  copyRows(f, C / 4, heap, outAt, n * h * w, ci, ci8, ci);
  kernelPathTaken('gemm.inputGrad');
  return out;
}

/** The filter gradient: dW[KH, KW, Ci, Co] from x[N, H, W, Ci] and dY[N, OH, OW, Co]. */
function gemmConvFilterGrad(c: Conv, x: tf.TensorInfo, dy: tf.TensorInfo): tf.TensorInfo | null {
  const { threads, backend, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left } = c;
  const taps = kh * kw;
  const m = n * oh * ow;
  const cb = Math.ceil(ci / 4);
  const ci4 = cb * 4;
  const panels = Math.ceil(co / 8);
  const co8 = panels * 8;

  const layout = new Layout(ci4 + 4);
  const zeros = layout.zeros;
  const X = layout.take(n * h * w * ci);
  const DY = layout.take(m * co8);
  const OUT = layout.take(taps * ci4 * co8);
  const xind = layout.take(taps * m);
  // Rows summed per pass over the tiles: their input pixels stay in the L1 cache meanwhile.
  const chunk = Math.min(1024, Math.max(32, Math.round(2048 / ci)));
  const call = startCall(threads, backend, layout, [kh, kw, ci, co], x, X);
  if (!call) return null;
  const { out, outAt, heap, f, p } = call;
  if (co8 !== co) f.fill(0, DY / 4, DY / 4 + m * co8);
  copyRows(heap, wordOffset(backend, dy), f, DY / 4, m, co, co, co8);
  for (let t = 0; t < taps; t++) {
    const ky = Math.floor(t / kw);
    const kx = t % kw;
    let at = xind / 4 + t * m;
    for (let img = 0; img < n; img++) {
      for (let oy = 0; oy < oh; oy++) {
        const iy = oy * sh + ky - top;
        const rowOk = iy >= 0 && iy < h;
        for (let ox = 0; ox < ow; ox++) {
          const ix = ox * sw + kx - left;
          p[at++] = rowOk && ix >= 0 && ix < w ? X + ((img * h + iy) * w + ix) * ci * 4 : zeros;
        }
      }
    }
  }
  threads.run(
    'wgrad',
    ranges(taps * cb, threads.threads).map(([taskStart, taskEnd]) => ({
      xind,
      m,
      channelBlocks: cb,
      taskStart,
      taskEnd,
      dy: DY,
      dyStride: co8 * 4,
      panels,
      out: OUT,
      outStride: co8 * 4,
      chunk,
    })),
  );
  for (let t = 0; t < taps; t++)
    copyRows(f, OUT / 4 + t * ci4 * co8, heap, outAt + t * ci * co, ci, co, co8, co);
  kernelPathTaken('gemm.filterGrad');
  return out;
}

type ConvAttrs = Pick<tf.Conv2DAttrs, 'strides' | 'pad' | 'dimRoundingMode'> & {
  dataFormat?: string;
  dilations?: number | number[];
};
type Shape4 = [number, number, number, number];

/**
 * A call's convolution (its threads, backend, geometry, and its sizes under short names) where
 * these loops compute it: float32 NHWC with a unit dilation, threads started; else null.
 */
function convOf(args: { backend: unknown }, inputs: tf.TensorInfo[], shapes: number[][], a: ConvAttrs) {
  const d = a.dilations;
  const dilated = Array.isArray(d) ? d.some((v) => v !== 1) : d !== undefined && d !== 1;
  const nhwc = a.dataFormat === undefined || a.dataFormat === 'NHWC' || a.dataFormat === 'channelsLast';
  if (!pool || !nhwc || dilated || !inputs.every((t) => t.dtype === 'float32')) return null;
  const [xShape, filterShape] = shapes as [Shape4, Shape4];
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow } = info;
  const { outChannels: co, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const backend = args.backend as WasmBackend;
  return { threads: pool, backend, info, n, h, w, ci, oh, ow, co, kh, kw, sh, sw, top, left };
}
type Conv = NonNullable<ReturnType<typeof convOf>>;

/** Conv2D / FusedConv2D on the loops above where they apply, else `original`. */
export function gemmConv(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as Record<
      string,
      tf.TensorInfo | undefined
    >;
    const a = args.attrs as unknown as tf.Conv2DAttrs & Partial<tf.FusedConv2DAttrs>;
    const activation = a.activation ?? 'linear';
    if (!x || !filter || preluActivationWeights || !['linear', 'relu'].includes(activation))
      return original(args);
    if (x.shape.length !== 4) return original(args);
    if (bias && tf.util.sizeFromShape(bias.shape) !== filter.shape[3]) return original(args);
    const c = convOf(args, [x, filter], [x.shape, filter.shape], a);
    const epilogue = bias || activation === 'relu' ? { bias, relu: activation === 'relu' } : undefined;
    return (c && gemmConvForward(c, x, filter, epilogue)) ?? original(args);
  };
}

/**
 * Conv2DBackpropInput on the loops above where they apply (or, on deep layers with small maps, as
 * one matrix product and a scatter: input-grad-product.ts), else `original`.
 */
export function gemmInputGrad(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { dy, filter } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
    if (!dy || !filter) return original(args);
    const c = convOf(args, [dy, filter], [a.inputShape, filter.shape], a);
    if (!c) return original(args);
    if (inputGradProductPays(c.info)) return inputGradByProduct(c.backend, dy, filter, c.info);
    return gemmConvInputGrad(c, dy, filter) ?? original(args);
  };
}

/** Conv2DBackpropFilter on the loops above where they apply, else `original`. */
export function gemmFilterGrad(original: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as Record<string, tf.TensorInfo>;
    const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!x || !dy) return original(args);
    const c = convOf(args, [x, dy], [x.shape, a.filterShape], a);
    return (c && gemmConvFilterGrad(c, x, dy)) ?? original(args);
  };
}
