import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';
import { countKernelPaths } from '../test-utils/kernel-paths.js';
import { gemmThreadCount, startGemmThreads, stopGemmThreads } from './gemm-conv.js';
import { inputGradProductPays } from './input-grad-product.js';

const paths = countKernelPaths();

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  label: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: Pad;
}

// Shapes that exercise each edge: rows not a multiple of 4, channels not a multiple of 4 or 8,
// every stride phase (with a 1×1 stride-2 filter, phases no tap reaches), asymmetric padding.
const cases: Case[] = [
  { label: '3×3 stride 1 same', x: [2, 5, 6, 8], filter: [3, 3, 8, 16], stride: 1, pad: 'same' },
  { label: '3×3 stride 2 same, odd size', x: [3, 7, 5, 4], filter: [3, 3, 4, 8], stride: 2, pad: 'same' },
  {
    label: "ResNet's stem: 7×7 stride 2, 3 channels",
    x: [2, 12, 12, 3],
    filter: [7, 7, 3, 8],
    stride: 2,
    pad: 'same',
  },
  {
    label: '1×1 stride 2 (phases without taps)',
    x: [2, 6, 6, 8],
    filter: [1, 1, 8, 12],
    stride: 2,
    pad: 'valid',
  },
  {
    label: '4×4 stride 2 valid, 5 → 3 channels',
    x: [1, 9, 10, 5],
    filter: [4, 4, 5, 3],
    stride: 2,
    pad: 'valid',
  },
  // A filter of 590 KB: the product keeps a panel of it in cache while it sweeps the rows.
  { label: 'deep layer, small maps', x: [2, 3, 3, 128], filter: [3, 3, 128, 128], stride: 1, pad: 'same' },
  {
    label: 'explicit asymmetric padding',
    x: [1, 6, 5, 4],
    filter: [3, 2, 4, 8],
    stride: 1,
    pad: [
      [0, 0],
      [2, 0],
      [0, 1],
      [0, 0],
    ],
  },
];

function normals(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: size }, () => rng.normal()),
    shape,
  );
}

/** The largest difference from `want`, relative to want's largest magnitude. */
function relativeError(want: ArrayLike<number>, got: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    worst = Math.max(worst, Math.abs(want[i]! - got[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return worst / scale;
}

/** y = conv(x, w) and the gradients of sum(y · r) for x and w, on `backend`. */
async function convAndGrads(backend: string, c: Case, fused?: 'relu') {
  await tf.setBackend(backend);
  const out = tf.tidy(() => {
    const x = normals(c.x, 1) as tf.Tensor4D;
    const w = normals(c.filter, 2) as tf.Tensor4D;
    const bias = normals([c.filter[3]], 3) as tf.Tensor1D;
    const conv = (a: tf.Tensor4D, b: tf.Tensor4D) =>
      fused
        ? tf.fused.conv2d({ x: a, filter: b, strides: c.stride, pad: c.pad, bias, activation: fused })
        : tf.conv2d(a, b, c.stride, c.pad);
    const y = conv(x, w);
    const r = normals(y.shape, 4);
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(conv(a as tf.Tensor4D, b as tf.Tensor4D), r)),
    )([x, w]);
    return [y, dx!, dw!];
  });
  const values = await Promise.all(out.map((t) => t.data()));
  const result = { shapes: out.map((t) => t.shape), values: values.map((v) => Array.from(v)) };
  tf.dispose(out);
  return result;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 2, log: null });
  startGemmThreads(1);
});
afterAll(() => stopGemmThreads());

describe("convolutions on skingan's SIMD loops", () => {
  it.each(cases)('match the cpu backend, with their gradients: $label', async (c) => {
    const cpu = await convAndGrads('cpu', c);
    const before = { ...paths };
    const wasm = await convAndGrads('wasm', c);
    // forward (twice: once outside the gradient), input and filter gradients all took these paths
    expect(paths['gemm.forward'] - before['gemm.forward']).toBe(2);
    // (the input gradient of deep layers on small maps as one product: input-grad-product.ts)
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.stride, 1, c.pad);
    const route = inputGradProductPays(info) ? 'product.inputGrad' : 'gemm.inputGrad';
    expect(paths[route] - before[route]).toBe(1);
    expect(paths['gemm.filterGrad'] - before['gemm.filterGrad']).toBe(1);
    expect(wasm.shapes).toEqual(cpu.shapes);
    for (let i = 0; i < 3; i++) {
      expect(relativeError(cpu.values[i]!, wasm.values[i]!)).toBeLessThan(1e-5);
    }
  });

  it('add the bias and apply relu of a fused convolution', async () => {
    const c = cases[1]!;
    const cpu = await convAndGrads('cpu', c, 'relu');
    const wasm = await convAndGrads('wasm', c, 'relu');
    expect(wasm.values[0]!.some((v) => v === 0)).toBe(true);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < cpu.values[i]!.length; j++)
        expect(wasm.values[i]![j]).toBeCloseTo(cpu.values[i]![j]!, 4);
    }
  });

  it('give the same values, bit for bit, on one thread and on two', async () => {
    const c = cases[2]!; // the stem: every loop, several stride phases
    expect(startGemmThreads(0)).toBe(true);
    expect(gemmThreadCount()).toBe(1);
    const one = await convAndGrads('wasm', c);
    startGemmThreads(1);
    const deadline = Date.now() + 30_000;
    while (gemmThreadCount() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(gemmThreadCount()).toBe(2);
    const two = await convAndGrads('wasm', c);
    expect(two.values).toEqual(one.values);
  });

  it('compute a hand-worked 2×2 example exactly', async () => {
    await tf.setBackend('wasm');
    // x: one 3×3 image with one channel 1…9; w: a 2×2 filter [1, 2; 3, 4] to one channel, valid.
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    const w = tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]);
    const y = tf.conv2d(x, w, 1, 'valid');
    // 1+4+12+20 = 37, 2+6+15+24 = 47, 4+10+21+32 = 67, 5+12+24+36 = 77
    expect(Array.from(await y.data())).toEqual([37, 47, 67, 77]);
    tf.dispose([x, w, y]);
  });

  it('do not leak tensors across repeated steps', async () => {
    const c = cases[0]!;
    await convAndGrads('wasm', c);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await convAndGrads('wasm', c);
    expect(tf.memory().numTensors).toBe(before);
  });
});

/** dx = the input gradient of sum(conv2d(x, w) · r) (Conv2DBackpropInput), with x, w, r from `seed`. */
async function inputGrad(
  backend: string,
  g: { x: Shape4; filter: Shape4; strides: [number, number]; pad: Pad },
  seed: number,
) {
  await tf.setBackend(backend);
  const x = normals(g.x, seed) as tf.Tensor4D;
  const w = normals(g.filter, seed + 1) as tf.Tensor4D;
  const y = tf.conv2d(x, w, g.strides, g.pad);
  const r = normals(y.shape, seed + 2);
  const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, w, g.strides, g.pad), r)))(
    x,
  );
  const [xs, ys, rs, dxs] = (await Promise.all([x, y, r, dx].map((t) => t.data()))) as Float32Array[];
  tf.dispose([x, w, y, r, dx]);
  return { x: xs!, y: ys!, r: rs!, dx: dxs!, shape: dx.shape };
}

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

describe('Conv2DBackpropInput (conv2dTranspose, and the input gradient of every convolution)', () => {
  // Transposed convolutions of the generators (CycleGAN k3 s2, ACGAN k4/k5 s2) and edge cases; the
  // last three are deep layers on small maps, where one matrix product and a scatter pay.
  type Transposed = [string, Shape4, number, number, number, 'same' | 'valid', Shape4, boolean?];
  const transposed: Transposed[] = [
    ['CycleGAN upsample k3 s2 same', [2, 4, 4, 6], 3, 5, 2, 'same', [2, 8, 8, 5]],
    ['ACGAN k5 s2 same', [2, 4, 4, 8], 5, 4, 2, 'same', [2, 8, 8, 4]],
    ['DCGAN k4 s2 same', [1, 5, 5, 3], 4, 2, 2, 'same', [1, 10, 10, 2]],
    ['k3 s1 same', [2, 6, 7, 3], 3, 4, 1, 'same', [2, 6, 7, 4]],
    ['k7 s1 valid', [1, 4, 4, 3], 7, 2, 1, 'valid', [1, 10, 10, 2]],
    ['k3 s2 valid, odd size', [1, 4, 4, 2], 3, 3, 2, 'valid', [1, 9, 9, 3]],
    ['k3 s2 valid, unused last row', [1, 4, 4, 2], 3, 3, 2, 'valid', [1, 10, 10, 3]],
    ['k1 s2 valid', [2, 3, 3, 4], 1, 3, 2, 'valid', [2, 6, 6, 3]],
    ['k3 s3 same', [1, 3, 3, 2], 3, 2, 3, 'same', [1, 9, 9, 2]],
    ['product: k3 s1 same, 2×2 maps', [2, 2, 2, 64], 3, 64, 1, 'same', [2, 2, 2, 64], true],
    ['product: k4 s2 same', [2, 2, 2, 48], 4, 24, 2, 'same', [2, 4, 4, 24], true],
    ['product: k3 s2 valid, unused last row', [1, 3, 3, 40], 3, 20, 2, 'valid', [1, 8, 8, 20], true],
  ];

  it.each(transposed)('matches cpu: %s', async (_, dy, k, cin, s, pad, out, product = false) => {
    const filter: Shape4 = [k, k, cin, dy[3]];
    const info = tf.backend_util.computeConv2DInfo(out, filter, s, 1, pad);
    expect(inputGradProductPays(info)).toBe(product);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const y = tf.tidy(() =>
        tf.conv2dTranspose(normals(dy, 5) as tf.Tensor4D, normals(filter, 6) as tf.Tensor4D, out, s, pad),
      );
      const data = await y.data();
      y.dispose();
      return data as Float32Array;
    };
    const cpu = await run('cpu');
    const route = product ? 'product.inputGrad' : 'gemm.inputGrad';
    const before = paths[route];
    const wasm = await run('wasm');
    expect(paths[route] - before).toBe(1);
    expect(relativeError(cpu, wasm)).toBeLessThan(1e-5);
  });

  // Random geometries: odd and even sizes, 1-5 taps, strides 1 and 2 (and unequal), 'same' and
  // 'valid', few and many channels. dx is checked two ways: against tfjs' cpu kernel, and as the
  // exact adjoint of the forward convolution, ⟨conv(x), r⟩ = ⟨x, dx⟩ (the derivative of a linear
  // map in every direction at once, where finite differences in float32 would blur).
  const rng = new Rng(2026);
  const sweep = Array.from({ length: 14 }, (_, i) => {
    const k = 1 + rng.int(5);
    const s = 1 + rng.int(2);
    const strides: [number, number] = i === 13 ? [1, 2] : [s, s];
    const deep = i >= 11 && i < 13; // small maps, many channels: the product route
    const size = () => (deep ? 2 + rng.int(2) : k + rng.int(7));
    const x: Shape4 = [1 + rng.int(2), size(), size(), deep ? 48 + rng.int(32) : 1 + rng.int(12)];
    const filter: Shape4 = [k, k, x[3], deep ? 48 + rng.int(32) : 1 + rng.int(12)];
    const pad: Pad = deep || rng.int(2) === 0 ? 'same' : 'valid';
    return {
      label: `x ${x.join('×')}, filter ${filter.join('×')}, strides ${strides.join(',')}, ${pad}`,
      x,
      filter,
      strides,
      pad,
    };
  });

  it.each(sweep)('is the adjoint of the convolution and matches cpu: $label', async (g) => {
    const cpu = await inputGrad('cpu', g, 40);
    const before = paths['gemm.inputGrad'] + paths['product.inputGrad'];
    const wasm = await inputGrad('wasm', g, 40);
    expect(paths['gemm.inputGrad'] + paths['product.inputGrad'] - before).toBe(1);
    expect(wasm.shape).toEqual(cpu.shape);
    expect(relativeError(cpu.dx, wasm.dx)).toBeLessThan(1e-5);
    const lhs = dot(wasm.y, wasm.r);
    const rhs = dot(wasm.x, wasm.dx);
    expect(Math.abs(lhs - rhs) / Math.max(1, Math.abs(lhs))).toBeLessThan(1e-4);
  });

  it('takes both routes in the sweep', () => {
    const routes = sweep.map((g) =>
      inputGradProductPays(tf.backend_util.computeConv2DInfo(g.x, g.filter, g.strides, 1, g.pad)),
    );
    expect(new Set(routes)).toEqual(new Set([true, false]));
  });
});
