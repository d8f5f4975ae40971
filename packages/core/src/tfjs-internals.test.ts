import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend/init-backend.js';
import { stopGemmThreads } from './kernels/gemm-conv.js';
import {
  kerasBatchNormFields,
  kerasConv2DFields,
  selfCheck,
  TFJS_INTERNALS_VERSION,
  type WasmBackend,
  wasmMemoryOffset,
} from './tfjs-internals.js';

describe('tfjs internals', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: () => {} });
  }, 120_000);
  afterAll(() => stopGemmThreads());

  it('were written for the installed tfjs, and each one the WASM backend needs is present', () => {
    expect(tf.version.tfjs).toBe(TFJS_INTERNALS_VERSION);
    const checks = selfCheck();
    expect(checks.map((c) => c.name)).toEqual([
      'tfjs version 4.22.0',
      'Engine.registryFactory',
      'layers.BatchNormalization.{axis,epsilon,momentum,gamma,beta,movingMean,movingVariance}',
      'layers.Conv2D.{kernel,bias,strides,padding,dataFormat,dilationRate,activation}',
      'BackendWasm.dataIdMap',
    ]);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it("types a Keras layer's private fields, and refuses a layer of another class", () => {
    const bn = tf.layers.batchNormalization({ momentum: 0.7, epsilon: 0.01 });
    bn.build([1, 2, 2, 3]);
    const fields = kerasBatchNormFields(bn);
    expect([fields.momentum, fields.epsilon, fields.axis]).toEqual([0.7, 0.01, -1]);
    expect(fields.movingVariance.read().dataSync()).toEqual(new Float32Array([1, 1, 1]));
    expect(() => kerasConv2DFields(bn)).toThrow(/is not a Conv2D/);
    for (const v of bn.weights) v.dispose();
  });

  it('self-check leaks no tensor (the Adam and layers it builds are disposed)', () => {
    const before = tf.memory().numTensors;
    selfCheck();
    expect(tf.memory().numTensors).toBe(before);
  });

  it("finds a tensor's data on the WASM heap, and nothing for a freed one", () => {
    const backend = tf.backend() as unknown as WasmBackend;
    const x = tf.tensor1d([1, 2, 3, 4, 5, 6]);
    const offset = wasmMemoryOffset(backend, x.dataId)!;
    expect(Array.from(new Float32Array(backend.wasm.HEAPU8.buffer, offset, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    x.dispose();
    expect(wasmMemoryOffset(backend, x.dataId)).toBeUndefined();
  });
});
