// The input gradient of a convolution (Conv2DBackpropInput, also conv2dTranspose's forward pass) on
// the shapes of a CycleGAN step at 64² and 128², ACGAN's generator at 64² and ResNet-18's deep layers
// at 64²: @skingan/core's kernel against phase convolutions on Conv2D (one stride-1 convolution per
// stride phase with that phase's taps, interleaved by stack and reshape: what CycleGAN ran before it
// used core's kernels; their rearranged filters are built once, untimed, as CycleGAN cached them per
// weight update), taking turns in this process, median of SKINGAN_BENCH_ROUNDS (7) rounds. With one thread
// (SKINGAN_THREADS=1) times are the process' CPU time, which other processes on a busy machine barely
// move; with more, wall time. SKINGAN_BENCH_BASELINE=/path/to/other/checkout/packages/core/dist also
// times that build's kernel, for an old-against-new ratio of a change to core.

import { pathToFileURL } from 'node:url';
import { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { median } from '../timing.mjs';

const ROUNDS = Number(process.env.SKINGAN_BENCH_ROUNDS ?? 7);
const REPS = 3;

// [label, dy, filter, input, stride, pad, calls per step]: recorded from the training steps.
const SHAPES = [
  ['cg64 up 16²→32² / down 32²', [1, 16, 16, 64], [3, 3, 32, 64], [1, 32, 32, 32], 2, 1, 12],
  ['cg64 up 32²→64² / down 64²', [1, 32, 32, 32], [3, 3, 16, 32], [1, 64, 64, 16], 2, 1, 12],
  ['cg64 residual 3×3', [1, 16, 16, 64], [3, 3, 64, 64], [1, 18, 18, 64], 1, 0, 36],
  ['cg64 output 7×7', [1, 64, 64, 3], [7, 7, 16, 3], [1, 70, 70, 16], 1, 0, 6],
  ['cg64 D 4×4 s2', [1, 16, 16, 32], [4, 4, 16, 32], [1, 32, 32, 16], 2, 1, 6],
  ['cg64 D 4×4 s1', [1, 7, 7, 128], [4, 4, 64, 128], [1, 8, 8, 64], 1, 1, 6],
  ['cg128 up 32²→64²', [1, 32, 32, 128], [3, 3, 64, 128], [1, 64, 64, 64], 2, 1, 12],
  ['cg128 up 64²→128²', [1, 64, 64, 64], [3, 3, 32, 64], [1, 128, 128, 32], 2, 1, 12],
  ['cg128 residual 3×3', [1, 32, 32, 128], [3, 3, 128, 128], [1, 34, 34, 128], 1, 0, 36],
  ['acgan up 8²→16²', [16, 8, 8, 128], [4, 4, 64, 128], [16, 16, 16, 64], 2, 'same', 4],
  ['acgan up 16²→32²', [16, 16, 16, 64], [4, 4, 32, 64], [16, 32, 32, 32], 2, 'same', 4],
  ['resnet18 2² 3×3', [16, 2, 2, 512], [3, 3, 512, 512], [16, 2, 2, 512], 1, 'same', 3],
  ['resnet18 4²→2² s2', [16, 2, 2, 512], [3, 3, 256, 512], [16, 4, 4, 256], 2, 'same', 1],
  ['resnet18 4² 3×3', [16, 4, 4, 256], [3, 3, 256, 256], [16, 4, 4, 256], 1, 'same', 3],
];

/** The padding tfjs' 'same' puts before the first row (PyTorch's symmetric pad otherwise). */
const padBefore = (k, s, inSize, outSize, pad) =>
  pad === 'same' ? Math.floor(Math.max(0, (outSize - 1) * s + k - inSize) / 2) : pad;

/** Each phase's taps, reversed and channel-swapped: [taps h, taps w, outC, inC], built once per filter. */
function phaseFilters(f, s) {
  const [kh, kw, ci, co] = f.shape;
  const w = f.dataSync();
  const out = new Map();
  for (let rh = 0; rh < s; rh++) {
    for (let rw = 0; rw < s; rw++) {
      const mh = Math.ceil((kh - rh) / s);
      const mw = Math.ceil((kw - rw) / s);
      if (mh <= 0 || mw <= 0) continue;
      const v = new Float32Array(mh * mw * co * ci);
      for (let u = 0; u < mh; u++) {
        for (let t = 0; t < mw; t++) {
          const from = ((rh + (mh - 1 - u) * s) * kw + (rw + (mw - 1 - t) * s)) * ci * co;
          const to = (u * mw + t) * co * ci;
          for (let i = 0; i < ci; i++) for (let j = 0; j < co; j++) v[to + j * ci + i] = w[from + i * co + j];
        }
      }
      out.set(`${rh}:${rw}`, tf.tensor4d(v, [mh, mw, co, ci]));
    }
  }
  return out;
}

/** One axis of a phase ρ of the padded input: its first tap r, tap count, and dy's padding. */
function phaseAxis(rho, k, s, pad, outLen, count) {
  const r = (rho + pad) % s;
  const taps = Math.max(0, Math.ceil((k - r) / s));
  const before = taps - 1 - Math.floor((rho + pad) / s);
  return { r, before, after: count - outLen - before + taps - 1 };
}

/** dx by phase convolutions: each phase a stride-1 Conv2D of dy, the phases interleaved, then cropped. */
function phaseConvolutions(c) {
  return tf.tidy(() => {
    const [kh, kw] = c.f.shape;
    const [n, outH, outW] = c.dy.shape;
    const [, inH, inW, ci] = c.inShape;
    const { s } = c;
    const countH = Math.ceil(inH / s);
    const countW = Math.ceil(inW / s);
    const rows = [];
    for (let rh = 0; rh < s; rh++) {
      const h = phaseAxis(rh, kh, s, c.padH, outH, countH);
      const cols = [];
      for (let rw = 0; rw < s; rw++) {
        const w = phaseAxis(rw, kw, s, c.padW, outW, countW);
        const kernel = c.phases.get(`${h.r}:${w.r}`);
        if (!kernel) {
          cols.push(tf.zeros([n, countH, countW, ci]));
          continue;
        }
        const cut = [Math.max(0, -h.before), Math.max(0, -w.before)];
        const keep = [outH - cut[0] - Math.max(0, -h.after), outW - cut[1] - Math.max(0, -w.after)];
        const src = tf.slice(c.dy, [0, cut[0], cut[1], 0], [-1, keep[0], keep[1], -1]);
        const pads = [
          [0, 0],
          [Math.max(0, h.before), Math.max(0, h.after)],
          [Math.max(0, w.before), Math.max(0, w.after)],
          [0, 0],
        ];
        cols.push(tf.conv2d(src, kernel, 1, pads));
      }
      const [, ph, pw, pc] = cols[0].shape;
      rows.push(s === 1 ? cols[0] : tf.stack(cols, 3).reshape([n, ph, pw * s, pc]));
    }
    const [, ph, pw, pc] = rows[0].shape;
    const full = s === 1 ? rows[0] : tf.stack(rows, 2).reshape([n, ph * s, pw, pc]);
    return tf.slice(full, [0, 0, 0, 0], [-1, inH, inW, -1]);
  });
}

const attrs = (c) => ({
  strides: [c.s, c.s],
  pad: c.pad,
  dataFormat: 'NHWC',
  dimRoundingMode: undefined,
  inputShape: c.inShape,
});

export default {
  async run({ backend }) {
    if (backend.name !== 'wasm') return { notes: 'kernel benchmark runs on wasm only', medianMs: null };
    const cpuTime = backend.threads === 1;
    const now = () => {
      if (!cpuTime) return performance.now();
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    };
    const rng = new Rng(1);
    const cases = SHAPES.map(([label, dyShape, fShape, inShape, s, pad, calls]) => {
      const f = rng.normalTensor(fShape);
      const c = {
        label,
        dy: rng.normalTensor(dyShape),
        f,
        inShape,
        s,
        pad,
        calls,
        phases: phaseFilters(f, s),
      };
      c.padH = padBefore(fShape[0], s, inShape[1], dyShape[1], pad);
      c.padW = padBefore(fShape[1], s, inShape[2], dyShape[2], pad);
      return c;
    });
    const variants = {
      core: (c) => tf.engine().runKernel('Conv2DBackpropInput', { dy: c.dy, filter: c.f }, attrs(c)),
      phases: phaseConvolutions,
    };
    const baseline = process.env.SKINGAN_BENCH_BASELINE;
    if (baseline) {
      // The other build's gemm path, on this engine's backend (its module state is its own).
      const other = await import(pathToFileURL(`${baseline}/kernels/gemm-conv.js`).href);
      other.startGemmThreads(backend.threads - 1);
      const refuse = () => {
        throw new Error(`${baseline}: its gemm path declined a shape`);
      };
      const kernel = other.gemmInputGrad(refuse);
      variants.baseline = (c) => {
        const out = kernel({ inputs: { dy: c.dy, filter: c.f }, backend: tf.backend(), attrs: attrs(c) });
        return tf.engine().makeTensorFromTensorInfo(out);
      };
    }
    // Every variant must give core's values before anything is timed.
    for (const c of cases) {
      const want = variants.core(c);
      for (const [name, f] of Object.entries(variants)) {
        const got = f(c);
        const err = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]);
        const scale = tf.tidy(() => tf.max(tf.abs(want)).dataSync()[0]);
        if (err > 1e-4 * scale) throw new Error(`${name} differs from core on ${c.label}: ${err}`);
        got.dispose();
      }
      want.dispose();
    }
    const times = new Map(
      cases.map((c) => [c, Object.fromEntries(Object.keys(variants).map((v) => [v, []]))]),
    );
    for (let round = 0; round < ROUNDS; round++) {
      for (const c of cases) {
        for (const [name, f] of Object.entries(variants)) {
          const t0 = now();
          for (let i = 0; i < REPS; i++) f(c).dispose();
          times.get(c)[name].push((now() - t0) / REPS);
        }
      }
    }
    const rows = cases.map((c) => {
      const m = Object.fromEntries(Object.entries(times.get(c)).map(([v, xs]) => [v, median(xs)]));
      const row = { shape: c.label, callsPerStep: c.calls, coreMs: Number(m.core.toFixed(3)) };
      row.phasesOverCore = Number((m.phases / m.core).toFixed(2));
      if (m.baseline) row.baselineOverCore = Number((m.baseline / m.core).toFixed(2));
      return row;
    });
    for (const c of cases) tf.dispose([c.dy, c.f, ...c.phases.values()]);
    // Per-step totals: each shape's median times its calls in a training step.
    const total = (v) => cases.reduce((n, c) => n + c.calls * median(times.get(c)[v]), 0);
    const ours = total('core');
    const extra = { clock: cpuTime ? 'process CPU time' : 'wall time', rounds: ROUNDS, shapes: rows };
    if (baseline) extra.baselineOverCore = Number((total('baseline') / ours).toFixed(3));
    return {
      medianMs: Number(ours.toFixed(2)),
      reference: { impl: 'phase convolutions on Conv2D', medianMs: Number(total('phases').toFixed(2)) },
      extra,
      notes: rows
        .map(
          (r) =>
            `${r.shape}: phases/core ${r.phasesOverCore}${r.baselineOverCore ? `, baseline/core ${r.baselineOverCore}` : ''}`,
        )
        .join('; '),
    };
  },
};
