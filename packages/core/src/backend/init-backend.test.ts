import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { gemmThreadsReady, startGemmThreads } from '../kernels/gemm-conv.js';
import { initBackend, parseBackendName } from './init-backend.js';

describe('initBackend', () => {
  const env = process.env.SKINGAN_BACKEND;
  afterEach(() => {
    if (env === undefined) delete process.env.SKINGAN_BACKEND;
    else process.env.SKINGAN_BACKEND = env;
  });

  it('picks wasm here, with SIMD and the added training kernels, and says why in one line', async () => {
    delete process.env.SKINGAN_BACKEND;
    const lines: string[] = [];
    const info = await initBackend({ log: (l) => lines.push(l) });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.simd).toBe(true);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^skingan: backend wasm — /);
    // The native packages are reported, not thrown.
    const gpu = info.candidates.find((c) => c.name === 'node-gpu')!;
    expect(gpu.usable).toBe(false);
    expect(gpu.reason).toMatch(/tfjs-node-gpu (not installed|installed but cannot load: .+)/);
  });

  it('honours SKINGAN_BACKEND and an explicit option', async () => {
    process.env.SKINGAN_BACKEND = 'cpu';
    const info = await initBackend({ log: null });
    expect(info.name).toBe('cpu');
    expect(info.forced).toBe(true);
    expect(tf.getBackend()).toBe('cpu');
    const back = await initBackend({ backend: 'wasm', log: null });
    expect(back.name).toBe('wasm');
  });

  it('starts the asked number of WASM threads, and refuses a bad SKINGAN_THREADS', async () => {
    await initBackend({ backend: 'cpu', log: null });
    const info = await initBackend({ backend: 'wasm', threads: 3, log: null });
    expect(info.threads).toBe(3);
    // the two helpers of the convolution loops start in the background
    expect(await gemmThreadsReady()).toBe(3);
    await initBackend({ backend: 'cpu', log: null });
    process.env.SKINGAN_THREADS = '0';
    try {
      await expect(initBackend({ backend: 'wasm', log: null })).rejects.toMatchObject({
        code: 'USAGE',
        message: 'SKINGAN_THREADS: "0" is not a whole number ≥ 1',
      });
    } finally {
      delete process.env.SKINGAN_THREADS;
    }
    expect(tf.getBackend()).toBe('cpu'); // refused before anything changed
    startGemmThreads(0);
  });

  it('refuses an unusable or unknown backend with a reason', async () => {
    await expect(initBackend({ backend: 'node-gpu', log: null })).rejects.toThrow(
      /backend "node-gpu" was asked for but is not usable: @tensorflow\/tfjs-node-gpu/,
    );
    expect(() => parseBackendName('tpu', 'SKINGAN_BACKEND')).toThrow(/unknown backend "tpu"/);
    expect(parseBackendName('GPU', 'x')).toBe('node-gpu');
  });
});
