import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { convHelpers, startConvHelpers } from '../parallel/conv-helpers.js';
import { Rng } from '../random.js';
import { countKernelPaths } from '../test-utils/kernel-paths.js';
import { stopGemmThreads } from './gemm-conv.js';

const paths = countKernelPaths();

interface Case {
  label: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  /** Which split the cost model picks for the forward conv. */
  split: 'batch' | 'rows' | 'channels';
}

// Each forward conv is above the split threshold (15M multiply-adds); the gradients' convs too.
const cases: Case[] = [
  {
    label: 'batch of 8, small filter',
    x: [8, 32, 32, 16],
    filter: [3, 3, 16, 16],
    stride: 1,
    pad: 'same',
    split: 'batch',
  },
  {
    label: 'one image, by rows, stride 2',
    x: [1, 64, 64, 32],
    filter: [4, 4, 32, 32],
    stride: 2,
    pad: 'same',
    split: 'rows',
  },
  {
    label: 'one image, by rows, explicit padding',
    x: [1, 70, 66, 32],
    filter: [3, 3, 32, 16],
    stride: 1,
    pad: [
      [0, 0],
      [1, 2],
      [3, 0],
      [0, 0],
    ],
    split: 'rows',
  },
  {
    label: 'deep layer, by channels',
    x: [2, 8, 8, 128],
    filter: [3, 3, 128, 128],
    stride: 1,
    pad: 'same',
    split: 'channels',
  },
  {
    label: 'odd sizes, valid',
    x: [3, 41, 39, 40],
    filter: [5, 5, 40, 33],
    stride: 2,
    pad: 'valid',
    split: 'channels',
  },
];

/** conv2d, fused conv2d (bias + relu), and both gradients of a loss over the conv. */
function convAndGrads(c: Case, seed: number): Float32Array[] {
  return tf.tidy(() => {
    const rng = new Rng(seed);
    const x = rng.uniformTensor<tf.Rank.R4>(c.x, -1, 1);
    const w = rng.uniformTensor<tf.Rank.R4>(c.filter, -1, 1);
    const b = rng.uniformTensor<tf.Rank.R1>([c.filter[3]], -1, 1);
    const y = tf.conv2d(x, w, c.stride, c.pad);
    const fused = tf.fused.conv2d({
      x,
      filter: w,
      bias: b,
      strides: c.stride,
      pad: c.pad,
      activation: 'relu',
    });
    const loss = (a: tf.Tensor, f: tf.Tensor) =>
      tf
        .conv2d(a as tf.Tensor4D, f as tf.Tensor4D, c.stride, c.pad)
        .square()
        .sum();
    const [dx, dw] = tf.grads(loss)([x, w]);
    return [y, fused, dx!, dw!].map((t) => t.dataSync() as Float32Array);
  });
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', threads: 1, log: null });
  // These tests are of the XNNPACK split, the path taken where skingan's own loops are off.
  stopGemmThreads();
});

afterAll(async () => {
  await startConvHelpers(0);
});

describe('convolutions split over helper threads', () => {
  it.each(cases)('$label: bit-identical to one thread, split by $split', async (c) => {
    await startConvHelpers(0);
    const alone = convAndGrads(c, 3);
    expect(await startConvHelpers(1)).toBe(1);
    const before = { ...paths };
    const split = convAndGrads(c, 3);
    expect(paths[`split.${c.split}`]).toBeGreaterThan(before[`split.${c.split}`]);
    for (let i = 0; i < alone.length; i++) {
      expect(split[i]!.length).toBe(alone[i]!.length);
      expect(split[i]).toEqual(alone[i]);
    }
  });

  it('matrix products (plain, fused with bias and relu, and with transposed operands) split by rows, bit-identical', async () => {
    const products = (seed: number) =>
      tf.tidy(() => {
        const rng = new Rng(seed);
        const a = rng.uniformTensor<tf.Rank.R2>([300, 256], -1, 1);
        const b = rng.uniformTensor<tf.Rank.R2>([256, 256], -1, 1);
        const bias = rng.uniformTensor<tf.Rank.R1>([256], -1, 1);
        return [
          tf.matMul(a, b),
          tf.fused.matMul({ a, b, bias, activation: 'relu' }),
          tf.matMul(b, a, false, true),
        ].map((t) => t.dataSync() as Float32Array);
      });
    await startConvHelpers(0);
    const alone = products(6);
    expect(await startConvHelpers(1)).toBe(1);
    const before = paths['split.matmul'];
    const held = convHelpers()[0]!.constantsHeld;
    const split = products(6);
    expect(paths['split.matmul']).toBe(before + 3);
    expect(convHelpers()[0]!.constantsHeld).toBe(held); // b and its bias dropped with the tidy
    for (const [i, values] of split.entries()) expect(values).toEqual(alone[i]);
  });

  it('a helper thread that died is retired, and the call is computed on this thread', async () => {
    const c = cases[0]!;
    await startConvHelpers(0);
    const alone = convAndGrads(c, 7);
    expect(await startConvHelpers(1)).toBe(1);
    await convHelpers()[0]!.stop();
    await new Promise((resolve) => setTimeout(resolve, 20)); // its exit event
    expect(convAndGrads(c, 7)).toEqual(alone);
    expect(convHelpers()).toHaveLength(0);
    expect(await startConvHelpers(1)).toBe(1); // and a new one can be started
  });

  it('two helpers (three threads) give the same values', async () => {
    await startConvHelpers(0);
    const c = cases[0]!;
    const alone = convAndGrads(c, 4);
    expect(await startConvHelpers(2)).toBe(2);
    const split = convAndGrads(c, 4);
    for (const helper of convHelpers()) expect(helper.jobs).toBeGreaterThan(0); // both took a share
    for (const [i, values] of split.entries()) expect(values).toEqual(alone[i]);
  });

  it('leaks no tensors, and a helper frees its copy of a filter when the filter is freed', async () => {
    expect(await startConvHelpers(1)).toBe(1);
    const helper = convHelpers()[0]!;
    const x = tf.randomNormal<tf.Rank.R4>([2, 8, 8, 128]); // split by channels
    const images = tf.randomNormal<tf.Rank.R4>([8, 32, 32, 16]); // split by images
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const w = tf.randomNormal<tf.Rank.R4>([3, 3, 128, 128]);
      const v = tf.randomNormal<tf.Rank.R4>([3, 3, 16, 16]);
      const held = helper.constantsHeld;
      const before = { ...paths };
      tf.conv2d(x, w, 1, 'same').dispose();
      tf.conv2d(images, v, 1, 'same').dispose();
      expect(paths['split.channels']).toBe(before['split.channels'] + 1);
      expect(paths['split.batch']).toBe(before['split.batch'] + 1);
      expect(helper.constantsHeld).toBe(held + 2); // its part of w, and v whole
      tf.dispose([w, v]);
      expect(helper.constantsHeld).toBe(held); // dropped with them
      counts.push(tf.memory().numTensors);
    }
    images.dispose();
    x.dispose();
    expect(new Set(counts).size).toBe(1);
  });

  it('a job a helper cannot run fails with its error, and the helper goes on working', async () => {
    expect(await startConvHelpers(1)).toBe(1);
    const helper = convHelpers()[0]!;
    helper.post({
      kernel: 'NoSuchKernel',
      x: { data: new Float32Array(4), shape: [4] },
      constants: {},
      attrs: {},
      outSize: 4,
    });
    expect(() => helper.collect()).toThrow(/conv helper failed: .*NoSuchKernel/);
    const c = cases[3]!;
    await startConvHelpers(0);
    const alone = convAndGrads(c, 5);
    await startConvHelpers(1);
    expect(convAndGrads(c, 5)).toEqual(alone);
  });
});
