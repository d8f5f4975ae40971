import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { registerTrainingKernels } from './register.js';

type Pad = 'same' | 'valid' | number;
interface Case {
  x: [number, number, number, number];
  k: [number, number];
  co: number;
  stride: number;
  pad: Pad;
}

const cases: Case[] = [
  { x: [2, 8, 8, 3], k: [3, 3], co: 4, stride: 1, pad: 'same' },
  { x: [2, 9, 7, 3], k: [3, 3], co: 5, stride: 2, pad: 'same' },
  { x: [1, 10, 10, 2], k: [3, 3], co: 3, stride: 2, pad: 'valid' },
  { x: [3, 16, 16, 4], k: [7, 7], co: 2, stride: 1, pad: 'valid' },
  { x: [1, 17, 13, 3], k: [5, 5], co: 6, stride: 3, pad: 'same' },
  { x: [2, 12, 12, 8], k: [4, 4], co: 8, stride: 2, pad: 1 },
  { x: [4, 6, 6, 5], k: [1, 1], co: 7, stride: 2, pad: 'valid' },
  { x: [1, 6, 6, 1], k: [2, 3], co: 1, stride: 1, pad: 'same' },
  // From 5 images on, the batch-as-channels form (the cases above take the unfolded one).
  { x: [6, 9, 7, 3], k: [3, 3], co: 5, stride: 2, pad: 'same' },
  { x: [8, 10, 10, 4], k: [4, 4], co: 3, stride: 2, pad: 1 },
  { x: [5, 11, 11, 2], k: [3, 3], co: 4, stride: 1, pad: 'valid' },
];

function tensors(c: Case, seed: number) {
  const rng = new Rng(seed);
  const x = rng.normalTensor<tf.Rank.R4>(c.x);
  const y = tf.conv2d(x, tf.zeros([...c.k, c.x[3], c.co]), c.stride, c.pad);
  const dy = rng.normalTensor<tf.Rank.R4>(y.shape);
  return { x, dy };
}

async function backpropFilter(backend: string, c: Case, seed: number): Promise<Float32Array> {
  await tf.setBackend(backend);
  const { x, dy } = tensors(c, seed);
  const gradFn = tf.grad((w: tf.Tensor) => tf.mul(tf.conv2d(x, w as tf.Tensor4D, c.stride, c.pad), dy).sum());
  const viaGrad = gradFn(tf.zeros([...c.k, c.x[3], c.co]));
  const out = (await viaGrad.data()) as Float32Array;
  tf.dispose([x, dy, viaGrad]);
  return out;
}

describe('Conv2DBackpropFilter on wasm', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
    registerTrainingKernels('wasm');
  });

  it.each(cases)('matches the cpu kernel for x=$x k=$k co=$co stride=$stride pad=$pad', async (c) => {
    const want = await backpropFilter('cpu', c, 1);
    const got = await backpropFilter('wasm', c, 1);
    expect(got.length).toBe(want.length);
    let maxErr = 0;
    for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
    expect(maxErr).toBeLessThanOrEqual(1e-4);
    expect(want.some((v) => v !== 0)).toBe(true);
  });

  it.each([cases[1]!, cases[8]!])('frees every intermediate (x=$x)', async (c) => {
    await tf.setBackend('wasm');
    const { x, dy } = tensors(c, 2);
    const before = tf.memory();
    const buffers = tf.backend().numDataIds();
    const dw = tf.tidy(() =>
      tf.grad((w: tf.Tensor) => tf.mul(tf.conv2d(x, w as tf.Tensor4D, c.stride, c.pad), dy).sum())(
        tf.zeros([...c.k, c.x[3], c.co]),
      ),
    );
    dw.dispose();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(tf.backend().numDataIds()).toBe(buffers); // the kernel's own buffers too
    tf.dispose([x, dy]);
  });
});
