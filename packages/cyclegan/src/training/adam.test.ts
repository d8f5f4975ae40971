import { initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Adam } from './adam.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

const cfg = { lr: 0.01, beta1: 0.5, beta2: 0.999 };
const gradsAt = (t: number) => [0.3 * Math.sin(t + 1), -0.2, 0.05 * t, 1 / (t + 1)];

describe('Adam', () => {
  it('follows PyTorch’s update, computed here in float64', () => {
    const x = tf.variable(tf.tensor1d([1, -1, 0.5, 0]));
    const opt = new Adam([x], cfg);
    const w = [1, -1, 0.5, 0];
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    for (let t = 1; t <= 6; t++) {
      const g = gradsAt(t);
      const gt = tf.tensor1d(g);
      opt.applyGradients({ [x.name]: gt });
      gt.dispose();
      for (let i = 0; i < 4; i++) {
        m[i] = 0.5 * m[i]! + 0.5 * g[i]!;
        v[i] = 0.999 * v[i]! + 0.001 * g[i]! ** 2;
        const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
        w[i] = w[i]! - (0.01 / (1 - 0.5 ** t)) * (m[i]! / denom);
      }
      for (const [i, got] of Array.from(x.dataSync()).entries()) expect(got).toBeCloseTo(w[i]!, 6);
    }
    expect(opt.iterations).toBe(6);
    opt.dispose();
    x.dispose();
  });

  it('continues exactly from a saved state', async () => {
    const run = async (split: number | null) => {
      const x = tf.variable(tf.tensor1d([1, -1, 0.5, 0]));
      let opt = new Adam([x], cfg);
      for (let t = 1; t <= 5; t++) {
        if (t === split) {
          const saved = (await opt.getWeights()).map((s) => ({ name: s.name, tensor: s.tensor.clone() }));
          opt.dispose();
          opt = new Adam([x], cfg);
          await opt.setWeights(saved);
          tf.dispose(saved.map((s) => s.tensor));
        }
        const gt = tf.tensor1d(gradsAt(t));
        opt.applyGradients({ [x.name]: gt });
        gt.dispose();
      }
      const out = Array.from(x.dataSync());
      opt.dispose();
      x.dispose();
      return out;
    };
    expect(await run(4)).toEqual(await run(null));
  });

  it('holds nothing but its two moments per variable, and frees them on dispose', () => {
    const x = tf.variable(tf.zeros([3, 3]));
    const start = tf.memory().numTensors;
    const opt = new Adam([x], cfg);
    expect(tf.memory().numTensors).toBe(start + 2);
    for (let t = 0; t < 5; t++) {
      const g = tf.ones([3, 3]);
      opt.applyGradients({ [x.name]: g });
      g.dispose();
    }
    expect(tf.memory().numTensors).toBe(start + 2);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(start);
    x.dispose();
  });

  it('refuses a state saved for other variables', async () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([3]));
    const saved = await new Adam([a], cfg).getWeights();
    await expect(new Adam([b], cfg).setWeights(saved)).rejects.toThrow(/has shape \[2\], expected \[3\]/);
  });
});
