import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';
import { countKernelPaths } from '../test-utils/kernel-paths.js';
import { stopGemmThreads } from './gemm-conv.js';
import { gemmPays } from './input-grad-gemm.js';

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

const paths = countKernelPaths();

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  // The Conv2DBackpropInput tests here are of the composite, the path taken where skingan's own
  // convolution loops (gemm-conv.test.ts) are off or do not apply.
  stopGemmThreads();
});

describe('Conv2DBackpropInput composite (conv2dTranspose and conv input gradients)', () => {
  const cases = [
    {
      label: 'CycleGAN upsample k3 s2 same',
      dy: [2, 4, 4, 6],
      k: 3,
      cin: 5,
      s: 2,
      pad: 'same' as const,
      out: [2, 8, 8, 5],
    },
    {
      label: 'ACGAN k5 s2 same',
      dy: [2, 4, 4, 8],
      k: 5,
      cin: 4,
      s: 2,
      pad: 'same' as const,
      out: [2, 8, 8, 4],
    },
    {
      label: 'DCGAN k4 s2 same',
      dy: [1, 5, 5, 3],
      k: 4,
      cin: 2,
      s: 2,
      pad: 'same' as const,
      out: [1, 10, 10, 2],
    },
    { label: 'k3 s1 same', dy: [2, 6, 7, 3], k: 3, cin: 4, s: 1, pad: 'same' as const, out: [2, 6, 7, 4] },
    {
      label: 'k7 s1 valid',
      dy: [1, 4, 4, 3],
      k: 7,
      cin: 2,
      s: 1,
      pad: 'valid' as const,
      out: [1, 10, 10, 2],
    },
    {
      label: 'k3 s2 valid, odd size',
      dy: [1, 4, 4, 2],
      k: 3,
      cin: 3,
      s: 2,
      pad: 'valid' as const,
      out: [1, 9, 9, 3],
    },
    {
      label: 'k3 s2 valid, unused last row',
      dy: [1, 4, 4, 2],
      k: 3,
      cin: 3,
      s: 2,
      pad: 'valid' as const,
      out: [1, 10, 10, 3],
    },
    { label: 'k1 s2 valid', dy: [2, 3, 3, 4], k: 1, cin: 3, s: 2, pad: 'valid' as const, out: [2, 6, 6, 3] },
    { label: 'k3 s3 same', dy: [1, 3, 3, 2], k: 3, cin: 2, s: 3, pad: 'same' as const, out: [1, 9, 9, 2] },
    // Deep layers on small maps: one matrix product and a scatter (input-grad-gemm.ts).
    {
      label: 'gemm: k3 s1 same, 2×2 maps',
      dy: [2, 2, 2, 64],
      k: 3,
      cin: 64,
      s: 1,
      pad: 'same' as const,
      out: [2, 2, 2, 64],
      gemm: true,
    },
    {
      label: 'gemm: k4 s2 same',
      dy: [2, 2, 2, 48],
      k: 4,
      cin: 24,
      s: 2,
      pad: 'same' as const,
      out: [2, 4, 4, 24],
      gemm: true,
    },
    {
      label: 'gemm: k3 s2 valid, unused last row',
      dy: [1, 3, 3, 40],
      k: 3,
      cin: 20,
      s: 2,
      pad: 'valid' as const,
      out: [1, 8, 8, 20],
      gemm: true,
    },
  ];
  it.each(cases)('matches cpu: $label', async (c) => {
    const [n, inH, inW] = c.out as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(
      c.out as [number, number, number, number],
      [c.k, c.k, c.cin, c.dy[3]!],
      c.s,
      1,
      c.pad,
    );
    const geometry = {
      ...{ n, inH, inW, cin: c.cin, cout: c.dy[3]!, kh: c.k, kw: c.k, stride: c.s },
      ...{ top: info.padInfo.top, left: info.padInfo.left, outH: c.dy[1]!, outW: c.dy[2]! },
    };
    expect(gemmPays(geometry)).toBe(Boolean((c as { gemm?: boolean }).gemm));
    const { cpu, wasm } = await onBoth((rng) => {
      const dy = rng.normalTensor<tf.Rank.R4>(c.dy);
      const w = rng.normalTensor<tf.Rank.R4>([c.k, c.k, c.cin, c.dy[3]!]);
      return tf.conv2dTranspose(dy, w, c.out as [number, number, number, number], c.s, c.pad);
    });
    expect(maxAbsDiff(cpu, wasm)).toBeLessThanOrEqual(1e-4);
  });

  it('gives conv2d the same input gradient as cpu (explicit padding, stride 2)', async () => {
    const { cpu, wasm } = await onBoth((rng) => {
      const x = rng.normalTensor<tf.Rank.R4>([2, 9, 9, 3]);
      const w = rng.normalTensor<tf.Rank.R4>([4, 4, 3, 5]);
      return tf.grad((xx: tf.Tensor) =>
        tf
          .conv2d(xx as tf.Tensor4D, w, 2, [
            [0, 0],
            [1, 2],
            [2, 1],
            [0, 0],
          ])
          .square()
          .sum(),
      )(x);
    });
    expect(maxAbsDiff(cpu, wasm)).toBeLessThanOrEqual(1e-4);
  });

  it('trains conv2dTranspose weights with the same gradient as cpu', async () => {
    const { cpu, wasm } = await onBoth((rng) => {
      const x = rng.normalTensor<tf.Rank.R4>([2, 4, 4, 6]);
      const w = rng.normalTensor<tf.Rank.R4>([3, 3, 5, 6]);
      return tf.grad((ww: tf.Tensor) =>
        tf
          .conv2dTranspose(x, ww as tf.Tensor4D, [2, 8, 8, 5], 2, 'same')
          .square()
          .sum(),
      )(w);
    });
    expect(maxAbsDiff(cpu, wasm) / Math.max(...Array.from(cpu, Math.abs))).toBeLessThanOrEqual(1e-5);
  });
});

describe('Conv2DBackpropInput filter cache', () => {
  it('follows weight updates: a reassigned variable never hits a stale rearranged filter', async () => {
    await tf.setBackend('wasm');
    const rng = new Rng(4);
    const dy = rng.normalTensor<tf.Rank.R4>([1, 3, 3, 4]);
    const w = tf.variable(rng.normalTensor<tf.Rank.R4>([3, 3, 2, 4]));
    const run = () =>
      tf.tidy(() => tf.conv2dTranspose(dy, w as tf.Tensor4D, [1, 6, 6, 2], 2, 'same').dataSync());
    const first = run();
    expect(run()).toEqual(first); // cache hit, same weights
    w.assign(tf.tidy(() => tf.mul(w, -2)));
    const second = run();
    second.forEach((v, i) => {
      expect(v).toBeCloseTo(-2 * first[i]!, 4);
    });
    tf.dispose([dy, w]);
  });

  it.each([
    ['sub-pixel conv, stride 2', [2, 4, 4, 6], [3, 3, 5, 6], [2, 8, 8, 5], 2],
    ['matrix product and scatter', [2, 2, 2, 64], [3, 3, 64, 64], [2, 2, 2, 64], 1],
  ] as const)(
    '%s: every buffer, the rearranged filter too, is freed with the filter',
    async (_, d, f, out, s) => {
      await tf.setBackend('wasm');
      const rng = new Rng(6);
      const dy = rng.normalTensor<tf.Rank.R4>([...d]);
      const buffers = tf.backend().numDataIds();
      const w = rng.normalTensor<tf.Rank.R4>([...f]);
      for (let i = 0; i < 3; i++) tf.conv2dTranspose(dy, w, [...out], s, 'same').dispose();
      w.dispose();
      expect(tf.backend().numDataIds()).toBe(buffers);
      dy.dispose();
    },
  );
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

describe('the path these tests took', () => {
  it('was the composite Conv2DBackpropInput, never the SIMD loops', () => {
    expect(paths['gemm.inputGrad']).toBe(0);
  });
});
