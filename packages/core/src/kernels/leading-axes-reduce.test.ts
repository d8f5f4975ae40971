import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';

/** The values of `f(x)` on the cpu backend and on wasm (skingan's kernels). */
async function onBoth(values: number[], shape: number[], f: (x: tf.Tensor) => tf.Tensor) {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const out = tf.tidy(() => f(tf.tensor(values, shape)));
    const result = { shape: out.shape, values: Array.from(await out.data()) };
    out.dispose();
    return result;
  };
  return { cpu: await run('cpu'), wasm: await run('wasm') };
}

const normals = (n: number, seed: number) => {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.normal());
};

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('Sum and Mean over leading axes on WASM', () => {
  it.each([
    { label: 'NHWC per channel, 16-column blocks', shape: [3, 5, 4, 32], axis: [0, 1, 2] },
    { label: 'a 4-column block and a 3-column tail', shape: [7, 2, 7], axis: [0, 1] },
    { label: 'fewer than 4 columns', shape: [9, 3], axis: 0 },
    { label: 'two kept axes', shape: [6, 4, 5], axis: [0] },
    { label: 'axes given out of order and negative', shape: [2, 3, 20], axis: [1, -3] },
  ])('equals the cpu backend: $label', async ({ shape, axis }) => {
    const values = normals(
      shape.reduce((a, b) => a * b, 1),
      5,
    );
    for (const keepDims of [false, true]) {
      for (const op of [tf.sum, tf.mean]) {
        const { cpu, wasm } = await onBoth(values, shape, (x) => op(x, axis, keepDims));
        expect(wasm.shape).toEqual(cpu.shape);
        // Both sum each column in row order in float32; the cpu backend divides a mean the same way.
        for (let i = 0; i < cpu.values.length; i++) expect(wasm.values[i]).toBeCloseTo(cpu.values[i]!, 5);
      }
    }
  });

  it('sums hand-computed columns exactly', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor3d([1, 2, 3, 4, 5, 10, 20, 30, 40, 50, 100, 200, 300, 400, 500], [3, 1, 5]);
    expect(Array.from(await tf.sum(x, [0, 1]).data())).toEqual([111, 222, 333, 444, 555]);
    expect(Array.from(await tf.mean(x, 0).data())).toEqual([37, 74, 111, 148, 185]);
    x.dispose();
  });

  it('leaves other reductions to tfjs: the innermost axis, every axis, int32', async () => {
    const values = normals(24, 6);
    for (const axis of [2, [1, 2], [0, 1, 2], [0, 2]]) {
      const { cpu, wasm } = await onBoth(values, [2, 3, 4], (x) => tf.sum(x, axis));
      for (let i = 0; i < cpu.values.length; i++) expect(wasm.values[i]).toBeCloseTo(cpu.values[i]!, 5);
    }
    await tf.setBackend('wasm');
    const ints = tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2], 'int32');
    const s = tf.sum(ints, 0);
    expect(s.dtype).toBe('int32');
    expect(Array.from(await s.data())).toEqual([9, 12]);
    tf.dispose([ints, s]);
  });

  it('does not leak, and an empty reduction gives 0 (sum) and NaN (mean)', async () => {
    await tf.setBackend('wasm');
    const x = tf.ones([4, 2, 8]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.tidy(() => void tf.mean(tf.sum(x, [0, 1], true), 0));
    expect(tf.memory().numTensors).toBe(before);
    const empty = tf.zeros([0, 3]);
    expect(Array.from(await tf.sum(empty, 0).data())).toEqual([0, 0, 0]);
    expect(Array.from(await tf.mean(empty, 0).data()).every(Number.isNaN)).toBe(true);
    tf.dispose([x, empty]);
  });
});

describe('Identity on WASM', () => {
  it('shares the input memory and keeps it alive after the input is freed', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1.5, -2, 3]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId); // no copy
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1.5, -2, 3]);
    const before = tf.memory().numTensors;
    y.dispose();
    expect(tf.memory().numTensors).toBe(before - 1);
  });
});
