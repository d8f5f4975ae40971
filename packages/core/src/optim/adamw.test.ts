import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { AdamW, adamWFactors } from './adamw.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** AdamW in float64, one variable, as PyTorch's `AdamW` and fastai's `Adam` write it. */
class Reference {
  m: number[];
  v: number[];
  t = 0;
  constructor(public p: number[]) {
    this.m = p.map(() => 0);
    this.v = p.map(() => 0);
  }
  step(g: number[], h: { lr: number; beta1: number; beta2: number; eps: number; wd: number }): void {
    this.t++;
    this.p = this.p.map((p, i) => {
      this.m[i] = h.beta1 * this.m[i]! + (1 - h.beta1) * g[i]!;
      this.v[i] = h.beta2 * this.v[i]! + (1 - h.beta2) * g[i]! ** 2;
      const mHat = this.m[i]! / (1 - h.beta1 ** this.t);
      const vHat = this.v[i]! / (1 - h.beta2 ** this.t);
      return p * (1 - h.lr * h.wd) - (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
    });
  }
}

const values = (x: tf.Tensor) => Array.from(x.dataSync());
const grad = (t: number, n: number, k: number) =>
  Array.from({ length: n }, (_, i) => 0.3 * Math.sin(t + i + k) - 0.05 * i);

function expectClose(got: number[], want: number[], digits = 6): void {
  expect(got).toHaveLength(want.length);
  got.forEach((g, i) => {
    expect(g).toBeCloseTo(want[i]!, digits);
  });
}

describe('AdamW', () => {
  it('one step: p·(1 − lr·wd) − lr·m̂/(√v̂ + ε), by hand', async () => {
    const x = tf.variable(tf.tensor1d([1, -2]));
    const opt = new AdamW([x], { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1 });
    const g = tf.tensor1d([0.5, 0.25]);
    opt.applyGradients({ [x.name]: g });
    // m̂ = g and √v̂ = |g| after one step, so the Adam step is lr·g/(|g| + ε) ≈ ±0.1; the decay
    // multiplies p by 1 − 0.1·0.1 = 0.99 first (decoupled: not added to the gradient).
    expectClose(values(x), [0.99 - 0.1 * (0.5 / (0.5 + 1e-8)), -1.98 - 0.1 * (0.25 / (0.25 + 1e-8))]);
    const [header, m, v] = (await opt.getWeights()).map((w) => w.tensor);
    expect(values(header!)).toEqual([1, 1]);
    expectClose(values(m!), [0.05, 0.025], 7);
    expectClose(values(v!), [0.00025, 0.0000625], 9);
    tf.dispose([g, x]);
    opt.dispose();
  });

  it('several steps in two groups (own lr and weight decay, a no-decay variable, β₁ and lr changed between steps) match float64', () => {
    const a = tf.variable(tf.tensor1d([0.5, -1, 2]));
    const bias = tf.variable(tf.tensor1d([0.1, 0.2]));
    const b = tf.variable(tf.tensor2d([1, -1, 0.5, 0.25], [2, 2]));
    const opt = new AdamW(
      [
        { variables: [a, bias], lr: 0.01, weightDecay: 0.1, noDecay: [bias] },
        { variables: [b], lr: 0.05 },
      ],
      { beta1: 0.9, beta2: 0.99, epsilon: 1e-5, weightDecay: 0.2 },
    );
    expect(opt.groups.map((g) => [g.lr, g.weightDecay])).toEqual([
      [0.01, 0.1],
      [0.05, 0.2],
    ]);
    const refs = [new Reference([0.5, -1, 2]), new Reference([0.1, 0.2]), new Reference([1, -1, 0.5, 0.25])];
    const hyper = (lr: number, beta1: number, wd: number) => ({ lr, beta1, beta2: 0.99, eps: 1e-5, wd });
    for (let t = 1; t <= 6; t++) {
      // A schedule: β₁ and the learning rates change every step.
      opt.beta1 = 0.95 - 0.02 * t;
      opt.groups[0]!.lr = 0.01 * t;
      opt.groups[1]!.lr = 0.05 / t;
      const gs = [grad(t, 3, 0), grad(t, 2, 1), grad(t, 4, 2)];
      const tensors = [tf.tensor1d(gs[0]!), tf.tensor1d(gs[1]!), tf.tensor2d(gs[2]!, [2, 2])];
      opt.applyGradients([
        { name: a.name, tensor: tensors[0]! },
        { name: bias.name, tensor: tensors[1]! },
        { name: b.name, tensor: tensors[2]! },
      ]);
      tf.dispose(tensors);
      refs[0]!.step(gs[0]!, hyper(0.01 * t, opt.beta1, 0.1));
      refs[1]!.step(gs[1]!, hyper(0.01 * t, opt.beta1, 0));
      refs[2]!.step(gs[2]!, hyper(0.05 / t, opt.beta1, 0.2));
      expectClose(values(a), refs[0]!.p);
      expectClose(values(bias), refs[1]!.p);
      expectClose(values(b), refs[2]!.p);
    }
    expect(opt.iterations).toBe(6);
    tf.dispose([a, bias, b]);
    opt.dispose();
  });

  it('counts steps per variable: one without a gradient is untouched and starts its bias correction later', async () => {
    const head = tf.variable(tf.tensor1d([1, 2]));
    const body = tf.variable(tf.tensor1d([-1, 0.5]));
    const opt = new AdamW([head, body], { lr: 0.02, beta1: 0.8, weightDecay: 0.05 });
    const refHead = new Reference([1, 2]);
    const refBody = new Reference([-1, 0.5]);
    const h = { lr: 0.02, beta1: 0.8, beta2: 0.999, eps: 1e-8, wd: 0.05 };
    for (let t = 1; t <= 4; t++) {
      const gh = tf.tensor1d(grad(t, 2, 0));
      const gb = tf.tensor1d(grad(t, 2, 5));
      // The body is frozen for the first two steps.
      opt.applyGradients(t <= 2 ? { [head.name]: gh } : { [head.name]: gh, [body.name]: gb });
      refHead.step(grad(t, 2, 0), h);
      if (t > 2) refBody.step(grad(t, 2, 5), h);
      if (t <= 2) expect(values(body)).toEqual([-1, 0.5]);
      tf.dispose([gh, gb]);
    }
    expectClose(values(head), refHead.p);
    expectClose(values(body), refBody.p);
    expect(values((await opt.getWeights())[0]!.tensor)).toEqual([4, 4, 2]);
    tf.dispose([head, body]);
    opt.dispose();
  });

  it('keeps β₁ᵗ and β₂ᵗ in double precision: the factors are float64 formulas of the integer step', () => {
    const h = { lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
    for (const t of [1, 17, 1000, 123_456]) {
      const f = adamWFactors(h, t);
      expect(f.stepSize).toBe(2e-4 / (1 - 0.5 ** t));
      expect(f.sqrtScale).toBe(1 / Math.sqrt(1 - 0.999 ** t));
    }
    // What a float32 running product (tfjs' Adam) would have used instead, after 1000 steps.
    let acc = Math.fround(0.999);
    for (let t = 2; t <= 1000; t++) acc = Math.fround(acc * Math.fround(0.999));
    expect(Math.abs(acc - 0.999 ** 1000) / 0.999 ** 1000).toBeGreaterThan(1e-7);
  });

  it('follows a float64 AdamW over 3000 steps (bias correction and weight decay throughout)', () => {
    const x = tf.variable(tf.tensor1d([0.5, -0.5, 1.5]));
    const opt = new AdamW([x], { lr: 1e-3, beta1: 0.9, beta2: 0.999, weightDecay: 0.01 });
    const ref = new Reference([0.5, -0.5, 1.5]);
    for (let t = 1; t <= 3000; t++) {
      const g = [Math.sin(t / 7), 0.1 * Math.cos(t / 3), 0.01 + 0.001 * (t % 5)];
      const gt = tf.tensor1d(g);
      opt.applyGradients({ [x.name]: gt });
      gt.dispose();
      ref.step(g, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0.01 });
    }
    // Each step rounds p (≈ 6e-8 here) and the moments in float32; no drift beyond that.
    values(x).forEach((got, i) => {
      expect(Math.abs(got - ref.p[i]!)).toBeLessThan(5e-5);
    });
    x.dispose();
    opt.dispose();
  });

  it('round-trips its state through getWeights/setWeights and continues bit for bit', async () => {
    const run = async (split: number | null) => {
      const a = tf.variable(tf.tensor1d([1, -1, 0.5]));
      const b = tf.variable(tf.tensor1d([0.25, 2]));
      const make = () =>
        new AdamW(
          [
            { variables: [a], lr: 0.03 },
            { variables: [b], lr: 0.01 },
          ],
          { beta1: 0.7, weightDecay: 0.02 },
        );
      let opt = make();
      for (let t = 1; t <= 7; t++) {
        if (t === split) {
          const saved = (await opt.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
          expect(saved.map((w) => w.name)).toEqual([
            'adamw@1',
            `0:${a.name}/m`,
            `0:${a.name}/v`,
            `1:${b.name}/m`,
            `1:${b.name}/v`,
          ]);
          opt.dispose();
          opt = make();
          await opt.setWeights(saved);
          tf.dispose(saved.map((w) => w.tensor));
        }
        const ga = tf.tensor1d(grad(t, 3, 0));
        const gb = tf.tensor1d(grad(t, 2, 1));
        // b is frozen on step 1: its own step count differs from a's.
        opt.applyGradients(t === 1 ? { [a.name]: ga } : { [a.name]: ga, [b.name]: gb });
        tf.dispose([ga, gb]);
      }
      const out = [values(a), values(b), opt.iterations];
      opt.dispose();
      tf.dispose([a, b]);
      return out;
    };
    expect(await run(4)).toEqual(await run(null));
  });

  it('holds two moments per updated variable, frees its temporaries each step and everything on dispose', async () => {
    const x = tf.variable(tf.zeros([3, 3]));
    const y = tf.variable(tf.zeros([2]));
    const start = tf.memory().numTensors;
    const opt = new AdamW([x, y], { weightDecay: 0.1 });
    expect(tf.memory().numTensors).toBe(start); // moments at a variable's first update
    for (let t = 0; t < 5; t++) {
      const g = tf.ones([3, 3]);
      opt.applyGradients({ [x.name]: g });
      g.dispose();
      await opt.getWeights(); // its header is replaced, not accumulated
    }
    expect(tf.memory().numTensors).toBe(start + 2 + 1);
    opt.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([x, y]);
  });

  it('is a tf.Optimizer: minimize() and registered for serialization', () => {
    const x = tf.variable(tf.scalar(3));
    const opt = new AdamW([], { lr: 0.1 });
    const ref = new Reference([3]);
    // A variable given to no group joins group 0, as with tfjs' own optimizers.
    for (let i = 0; i < 50; i++) {
      opt.minimize(() => tf.square(x) as tf.Scalar, false, [x]);
      ref.step([2 * ref.p[0]!], { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, wd: 0 });
    }
    expectClose(values(x), ref.p, 5);
    expect(opt.iterations).toBe(50);
    const map = tf.serialization.SerializationMap.getMap().classNameMap;
    expect(map['skingan.AdamW']?.[0]).toBe(AdamW);
    const copy = AdamW.fromConfig(AdamW, opt.getConfig()) as AdamW;
    expect(copy.getConfig()).toEqual({ lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
    x.dispose();
    opt.dispose();
    copy.dispose();
  });

  it('refuses a state of another layout version, or of another model, naming what it found', async () => {
    const a = tf.variable(tf.zeros([2]));
    const b = tf.variable(tf.zeros([3]));
    const opt = new AdamW([a]);
    const header = tf.tensor1d([1, 1], 'int32');
    const m = tf.zeros([2]);
    await expect(opt.setWeights([{ name: 'adamw@2', tensor: header }])).rejects.toThrow(
      'optimizer state is in layout "adamw@2", which this version of skingan does not read (it writes adamw@1)',
    );
    await expect(opt.setWeights([{ name: 'momentum', tensor: header }])).rejects.toThrow(/layout "momentum"/);
    const saved = (await opt.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
    const other = new AdamW([a, b]);
    await expect(other.setWeights(saved)).rejects.toThrow(
      'optimizer state (adamw@1) holds 1 variables, this model has 2',
    );
    const wrong = new AdamW([b]);
    await expect(
      wrong.setWeights([
        { name: 'adamw@1', tensor: header },
        { name: '0:x/m', tensor: m },
        { name: '0:x/v', tensor: m },
      ]),
    ).rejects.toThrow(/variable 0 .* has shape \[2\], expected \[3\]/);
    tf.dispose([a, b, header, m, ...saved.map((w) => w.tensor)]);
    for (const o of [opt, other, wrong]) o.dispose();
  });
});
