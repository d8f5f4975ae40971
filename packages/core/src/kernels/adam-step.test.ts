import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';
import { ADAM_STEP_KERNEL, adamStep } from './adam-step.js';
import { adamModuleValid } from './simd-adam.js';

const factors = {
  beta1: 0.9,
  beta2: 0.99,
  eps: 1e-5,
  sqrtScale: 1 / Math.sqrt(1 - 0.99 ** 3),
  stepSize: 1e-3 / (1 - 0.9 ** 3),
  decay: 1 - 1e-3 * 0.01,
};

/** Inputs of `size` values: p, g, m, v (v ≥ 0), from a seed. */
function inputs(size: number): number[][] {
  const rng = new Rng(size);
  const r = () => Array.from({ length: size }, () => rng.normal());
  return [r(), r(), r(), r().map((x) => x * x)];
}

async function stepOn(backend: string, values: number[][]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const [p, g, m, v] = values.map((x) => tf.tensor1d(x));
  const out = adamStep(p!, g!, m!, v!, factors);
  const data = await Promise.all(out.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([p!, g!, m!, v!, ...out]);
  return data;
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('adamStep', () => {
  it('is a valid WebAssembly module, registered as a kernel on wasm only', async () => {
    expect(adamModuleValid()).toBe(true);
    const { addedKernels } = await initBackend({ backend: 'wasm', log: null });
    expect(addedKernels).toContain(ADAM_STEP_KERNEL);
    expect(tf.getKernel(ADAM_STEP_KERNEL, 'cpu')).toBeUndefined();
  });

  // Sizes with every remainder mod 4 (the SIMD loop takes fours, JavaScript the rest).
  it.each([1, 3, 4, 6, 37, 1024])(
    'the SIMD loop equals the float32 op-by-op update bit for bit (%i values)',
    async (size) => {
      const values = inputs(size);
      const composite = await stepOn('cpu', values);
      const simd = await stepOn('wasm', values);
      for (let k = 0; k < 3; k++) expect(Array.from(simd[k]!)).toEqual(Array.from(composite[k]!));
    },
  );

  it('computes Adam as written, within float32 rounding of a float64 computation', async () => {
    const values = inputs(9);
    const [p2, m2, v2] = await stepOn('wasm', values);
    const [p, g, m, v] = values as [number[], number[], number[], number[]];
    for (let i = 0; i < 9; i++) {
      const mi = 0.9 * m[i]! + 0.1 * g[i]!;
      const vi = 0.99 * v[i]! + 0.01 * g[i]! ** 2;
      const pi =
        p[i]! * factors.decay - (mi / (Math.sqrt(vi) * factors.sqrtScale + factors.eps)) * factors.stepSize;
      expect(m2![i]).toBeCloseTo(mi, 5);
      expect(v2![i]).toBeCloseTo(vi, 5);
      expect(p2![i]).toBeCloseTo(pi, 5);
    }
  });

  it('works on tensors of any rank, after the heap has grown, and leaks nothing', async () => {
    await tf.setBackend('wasm');
    const p = tf.ones([3, 3, 4, 5]);
    const g = tf.fill([3, 3, 4, 5], 0.5);
    const big = tf.zeros([64 << 20]); // grows the heap: the module must see the new memory
    const before = tf.memory().numTensors;
    const [p2, m2, v2] = adamStep(p, g, tf.zerosLike(p), tf.zerosLike(p), { ...factors, decay: 1 });
    expect(p2!.shape).toEqual([3, 3, 4, 5]);
    expect(Array.from(await m2!.data()).every((x) => Math.abs(x - 0.05) < 1e-7)).toBe(true);
    tf.dispose([p2!, m2!, v2!]);
    expect(tf.memory().numTensors).toBe(before + 2); // the two zerosLike above
    tf.dispose([p, g, big]);
  });

  it('refuses mismatched sizes', async () => {
    await tf.setBackend('wasm');
    expect(() => adamStep(tf.ones([4]), tf.ones([5]), tf.ones([4]), tf.ones([4]), factors)).toThrow(
      /sizes differ/,
    );
  });
});
