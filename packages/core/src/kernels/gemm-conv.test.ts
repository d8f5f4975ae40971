import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';
import { countKernelPaths } from '../test-utils/kernel-paths.js';
import { gemmThreadCount, startGemmThreads, stopGemmThreads } from './gemm-conv.js';

const paths = countKernelPaths();

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
    // forward (twice: once outside the gradient), input and filter gradients all took this path
    expect(paths['gemm.forward'] - before['gemm.forward']).toBe(2);
    expect(paths['gemm.inputGrad'] - before['gemm.inputGrad']).toBe(1);
    expect(paths['gemm.filterGrad'] - before['gemm.filterGrad']).toBe(1);
    expect(wasm.shapes).toEqual(cpu.shapes);
    for (let i = 0; i < 3; i++) {
      const scale = cpu.values[i]!.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      const worst = cpu.values[i]!.reduce((a, v, j) => Math.max(a, Math.abs(v - wasm.values[i]![j]!)), 0);
      expect(worst / scale).toBeLessThan(1e-5);
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
