import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';

/** Runs `f` on cpu and on wasm (skingan's kernels) from the same seed; returns both outputs. */
async function onBoth(
  f: (rng: Rng) => tf.Tensor,
): Promise<{ cpu: Float32Array; wasm: Float32Array; shape: number[] }> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const out = tf.tidy(() => f(new Rng(17)));
    const data = (await out.data()) as Float32Array;
    const shape = out.shape;
    out.dispose();
    return { data, shape };
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  expect(wasm.shape).toEqual(cpu.shape);
  return { cpu: cpu.data, wasm: wasm.data, shape: cpu.shape };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('BatchMatMul with transposed operands', () => {
  it.each([
    [false, true],
    [true, false],
    [true, true],
  ])('matches cpu for transposeA=%s transposeB=%s, batched and broadcast', async (ta, tb) => {
    const { cpu, wasm } = await onBoth((rng) => {
      const a = rng.normalTensor(ta ? [3, 5, 4] : [3, 4, 5]);
      const b = rng.normalTensor(tb ? [1, 6, 5] : [1, 5, 6]);
      return tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb);
    });
    expect(maxAbsDiff(cpu, wasm)).toBeLessThanOrEqual(1e-5);
  });

  it('matches cpu for a fused dense layer gradient', async () => {
    const { cpu, wasm } = await onBoth((rng) => {
      const x = rng.normalTensor<tf.Rank.R2>([7, 5]);
      const w = rng.normalTensor<tf.Rank.R2>([5, 3]);
      const bias = rng.normalTensor<tf.Rank.R1>([3]);
      const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) =>
        tf.fused.matMul({ a: xx as tf.Tensor2D, b: ww as tf.Tensor2D, bias, activation: 'relu' }).sum(),
      )([x, w]);
      return tf.concat([g[0]!.flatten(), g[1]!.flatten()]);
    });
    expect(maxAbsDiff(cpu, wasm)).toBeLessThanOrEqual(1e-5);
  });
});

describe('patched kernels leak nothing', () => {
  it('keeps tensor count and bytes flat', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(1);
    const dy = rng.normalTensor<tf.Rank.R4>([1, 4, 4, 3]);
    const w = rng.normalTensor<tf.Rank.R4>([3, 3, 2, 3]);
    const a = rng.normalTensor<tf.Rank.R2>([4, 3]);
    const before = tf.memory();
    tf.tidy(() => {
      tf.conv2dTranspose(dy, w, [1, 8, 8, 2], 2, 'same');
      tf.matMul(a, a, true, false);
    });
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    tf.dispose([dy, w, a]);
  });
});

describe('FusedBatchNorm gradient', () => {
  it('equals autodiff of the composed formula, through batch statistics, on wasm', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(8);
    const x = rng.normalTensor<tf.Rank.R4>([3, 4, 4, 5]);
    const scale = rng.normalTensor<tf.Rank.R1>([5]);
    const offset = rng.normalTensor<tf.Rank.R1>([5]);
    const w = rng.normalTensor<tf.Rank.R4>([3, 4, 4, 5]);
    const loss = (fused: boolean) => (xx: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
      const { mean, variance } = tf.moments(xx, [0, 1, 2]);
      const y = fused
        ? tf.batchNorm(xx as tf.Tensor4D, mean, variance, o as tf.Tensor1D, s as tf.Tensor1D, 1e-3)
        : tf.add(tf.mul(tf.mul(tf.sub(xx, mean), tf.rsqrt(tf.add(variance, 1e-3))), s), o);
      return tf.sum(tf.mul(y, w));
    };
    const got = tf.grads(loss(true))([x, scale, offset]);
    const want = tf.grads(loss(false))([x, scale, offset]);
    for (let i = 0; i < 3; i++) {
      expect(
        maxAbsDiff((await got[i]!.data()) as Float32Array, (await want[i]!.data()) as Float32Array),
      ).toBeLessThanOrEqual(1e-4);
    }
    tf.dispose([x, scale, offset, w, ...got, ...want]);
  });
});
