import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { createCycleGanNets, disposeNets } from '../networks/cyclegan-nets.js';
import { createResnetGenerator } from '../networks/resnet-generator.js';
import { estimateTrainingMemory, passMemory, WASM_HEAP_LIMIT } from './memory.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('memory estimate', () => {
  it('counts what backprop keeps of a generator pass, by hand for ngf 2, 1 block, 8×8', () => {
    const g = createResnetGenerator({ ngf: 2, blocks: 1 });
    const m = passMemory(g, 1, 8);
    // Convolution inputs: in_pad 14·14·3, in_relu 8·8·2, down1_relu 4·4·4, down2_relu 2·2·8 (also the
    // residual's), res1_pad1 and res1_pad2 4·4·8, res1_add 2·2·8, up1_relu 4·4·4, out_pad 14·14·2.
    const convInputs = 588 + 128 + 64 + 32 + 128 + 128 + 32 + 64 + 392;
    // Instance-norm outputs (in, down1, down2, res norm1, norm2, up1, up2) and the tanh output.
    const normOutputs = 128 + 64 + 32 + 32 + 32 + 64 + 128;
    expect(m.kept).toBe((convInputs + normOutputs + 192) * 4);
    // One gradient per layer output: 27 layers.
    const outputs = [
      588, 128, 128, 128, 64, 64, 64, 32, 32, 32, 128, 32, 32, 32, 128, 32, 32, 32, 64, 64, 64, 128, 128, 128,
      392, 192, 192,
    ];
    expect(m.gradients).toBe(outputs.reduce((a, b) => a + b, 0) * 4);
    expect(m.largest).toBe(588 * 4);
    g.dispose();
  });

  it('grows with image size and width; the thesis preset fits the WASM heap, 512² does not', () => {
    const estimate = (preset: 'thesis' | 'test', over = {}) => {
      const config = resolveConfig(preset, over);
      const nets = createCycleGanNets(config);
      const e = estimateTrainingMemory(nets, config);
      disposeNets(nets);
      return e;
    };
    const small = estimate('test');
    // Activations scale with the pixels (×4, a little less: the 3-pixel reflection borders), and
    // parameters with the width squared.
    const ratio = estimate('test', { size: 64 }).activationBytes / small.activationBytes;
    expect(ratio).toBeGreaterThan(3.5);
    expect(ratio).toBeLessThan(4);
    expect(estimate('test', { ngf: 16, ndf: 16 }).parameterBytes / small.parameterBytes).toBeCloseTo(4, 0);
    const thesis = estimate('thesis').peakBytes;
    expect(thesis).toBeLessThan(WASM_HEAP_LIMIT);
    expect(thesis).toBeGreaterThan(2 * 2 ** 30);
    expect(estimate('thesis', { size: 512 }).peakBytes).toBeGreaterThan(WASM_HEAP_LIMIT);
    expect(tf.memory().numTensors).toBe(0);
  });
});
