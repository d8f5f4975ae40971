import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';

/** The gradient of sum(maxPool(x) · w) on the cpu backend and on wasm (skingan's kernel). */
async function gradOnBoth(
  x: () => tf.Tensor4D,
  k: [number, number],
  s: [number, number],
  pad: 'same' | 'valid',
): Promise<{ cpu: number[]; wasm: number[] }> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const out = tf.tidy(() => {
      const input = x();
      const pooled = tf.maxPool(input, k, s, pad);
      const w = tf.add(tf.range(0, pooled.size).reshape(pooled.shape), 1);
      return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(t as tf.Tensor4D, k, s, pad), w)))(input);
    });
    const values = Array.from(await out.data());
    out.dispose();
    return values;
  };
  return { cpu: await run('cpu'), wasm: await run('wasm') };
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('MaxPoolGrad on WASM', () => {
  it.each([
    { label: "ResNet's stem pool, 3×3 stride 2 same", shape: [2, 9, 8, 5], k: 3, s: 2, pad: 'same' as const },
    { label: '2×2 stride 2 valid', shape: [1, 6, 6, 3], k: 2, s: 2, pad: 'valid' as const },
    { label: 'overlapping 3×3 stride 1 valid', shape: [1, 5, 7, 4], k: 3, s: 1, pad: 'valid' as const },
  ])('matches the cpu backend: $label', async ({ shape, k, s, pad }) => {
    const rng = new Rng(3);
    const values = Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal());
    const { cpu, wasm } = await gradOnBoth(
      () => tf.tensor4d(values, shape as [number, number, number, number]),
      [k, k],
      [s, s],
      pad,
    );
    expect(wasm).toEqual(cpu);
  });

  it('gives a tied window its gradient at the first maximum, and nothing for a window of −∞', async () => {
    // 4×4 image, 2×2 windows: the top-left window is all 1 (ties), the top-right all −∞.
    const rows = [
      [1, 1, -Infinity, -Infinity],
      [1, 1, -Infinity, -Infinity],
      [0, 2, 5, 5],
      [2, 0, 3, 5],
    ];
    const x = () => tf.tensor4d(rows.flat(), [1, 4, 4, 1]);
    const { cpu, wasm } = await gradOnBoth(x, [2, 2], [2, 2], 'valid');
    expect(wasm).toEqual(cpu);
    // Window weights 1, 2, 3, 4: first 1 gets 1, −∞ window nothing, first 2 (row 2) gets 3, first 5 gets 4.
    expect(wasm).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0]);
  });

  it('is one of the replaced kernels and leaks nothing', async () => {
    const { replacedKernels } = await initBackend({ backend: 'wasm', log: null });
    expect(replacedKernels).toContain('MaxPoolGrad');
    const x = tf.randomNormal([2, 8, 8, 3]) as tf.Tensor4D;
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.maxPool(t as tf.Tensor4D, 3, 2, 'same')));
    tf.dispose(grad(x));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(grad(x));
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
