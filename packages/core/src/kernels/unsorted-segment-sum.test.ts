import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';

describe('UnsortedSegmentSum on wasm', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
  });

  it('sums rows into segments as hand-computed, dropping out-of-range ids', async () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    const ids = tf.tensor1d([2, 0, 2, 5], 'int32');
    const out = tf.unsortedSegmentSum(x, ids, 3);
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(await out.data())).toEqual([3, 4, 0, 0, 6, 8]);
    tf.dispose([x, ids, out]);
  });

  it.each([
    { x: [6, 3, 2], n: 4 },
    { x: [10], n: 3 },
    { x: [5, 7], n: 8 },
  ])('matches the cpu kernel for x=$x, $n segments', async ({ x: shape, n }) => {
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const rng = new Rng(3);
      const x = rng.normalTensor(shape);
      const ids = tf.tensor1d(
        Array.from({ length: shape[0]! }, () => rng.int(n)),
        'int32',
      );
      const out = tf.unsortedSegmentSum(x, ids, n);
      const v = Array.from(await out.data());
      tf.dispose([x, ids, out]);
      return v;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.length).toBe(cpu.length);
    wasm.forEach((v, i) => {
      expect(Math.abs(v - cpu[i]!)).toBeLessThanOrEqual(1e-5);
    });
  });

  it('gives tf.gather (embeddings) a gradient on wasm', async () => {
    await tf.setBackend('wasm');
    const table = tf.variable(
      tf.tensor2d([
        [1, 1],
        [2, 2],
        [3, 3],
      ]),
    );
    const idx = tf.tensor1d([2, 2, 0], 'int32');
    const g = tf.variableGrads(() => tf.gather(table, idx).sum() as tf.Scalar, [table]);
    expect(Array.from(await g.grads[table.name]!.data())).toEqual([1, 1, 0, 0, 2, 2]);
    tf.dispose([table, idx, g.value, ...Object.values(g.grads)]);
  });
});

describe('OneHot on wasm', () => {
  it('honours a float32 dtype (the stock kernel writes int32 bits)', async () => {
    await initBackend({ backend: 'wasm', log: null });
    const idx = tf.tensor1d([1, 0, 2], 'int32');
    const oh = tf.oneHot(idx, 3, 1, 0, 'float32');
    expect(oh.dtype).toBe('float32');
    expect(Array.from(await oh.data())).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 1]);
    tf.dispose([idx, oh]);
  });
});
