import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { readTensors } from '../io/file-handler.js';
import { CheckpointStore } from '../run/checkpoint-store.js';
import { AdamW } from './adamw.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

const FIXTURES = join(import.meta.dirname, 'legacy-fixtures');
// The recipe the fixtures were written with (see legacy-fixtures/README.md).
const A0 = [0.5, -0.25, 1, -1, 0.75, 0.1];
const B0 = [0.2, -0.3, 0.4];
const gradA = (t: number) => A0.map((_, i) => 0.1 * (i + 1) * Math.sin(t + i));
const gradB = (t: number) => B0.map((_, i) => 0.05 * (t + i) - 0.1);

interface Fixture {
  hypers: {
    lr: number | number[];
    beta1: number | number[];
    beta2: number;
    epsilon: number;
    weightDecay?: number[];
  };
  /** Per step: whether the kernel and the bias got a gradient. */
  updated: [number, number][];
  weightsAfter: { kernel: number[]; bias: number[] };
}

/** AdamW as each model now builds it for the fixture's settings, on a kernel and a bias. */
function optimizerFor(f: Fixture, kernel: tf.Variable, bias: tf.Variable): AdamW {
  const { lr, beta2, epsilon, weightDecay } = f.hypers;
  const beta1 = Array.isArray(f.hypers.beta1) ? f.hypers.beta1[0]! : f.hypers.beta1;
  if (!Array.isArray(lr)) return new AdamW([kernel, bias], { lr, beta1, beta2, epsilon });
  return new AdamW(
    [
      { variables: [kernel], lr: lr[0], weightDecay: weightDecay![0] },
      { variables: [bias], lr: lr[1], weightDecay: weightDecay![1] },
    ],
    { beta1, beta2, epsilon },
  );
}

function step(opt: AdamW, f: Fixture, t: number, kernel: tf.Variable, bias: tf.Variable): void {
  if (Array.isArray(f.hypers.beta1)) opt.beta1 = f.hypers.beta1[t - 1] ?? f.hypers.beta1.at(-1)!;
  const [k, b] = f.updated[t - 1] ?? [1, 1];
  const ga = tf.tensor2d(gradA(t), [2, 3]);
  const gb = tf.tensor1d(gradB(t));
  opt.applyGradients({ ...(k ? { [kernel.name]: ga } : {}), ...(b ? { [bias.name]: gb } : {}) });
  tf.dispose([ga, gb]);
}

const read = (x: tf.Tensor) => Array.from(x.dataSync());

/** Equal bit for bit (`digits` null) or to `digits` decimals. */
function expectSame(got: number[], want: number[], digits: number | null): void {
  if (digits === null) expect(got).toEqual(want);
  else
    got.forEach((x, i) => {
      expect(x).toBeCloseTo(want[i]!, digits);
    });
}

describe('AdamW reads the optimizer state of skingan-checkpoint@1', () => {
  // tfjs' Adam rounds differently (it divides m and v by their corrections): float32 rounding
  // apart. CycleGAN's Adam and FastaiAdam already updated through adamStep: bit for bit.
  for (const [name, digits] of [
    ['acgan-tfjs-adam', 6],
    ['cyclegan-adam', null],
    ['classifier-fastai-adam', null],
  ] as const) {
    it(`${name}: restores through CheckpointStore and continues as AdamW from the start would`, async () => {
      const dir = join(FIXTURES, name);
      const f = JSON.parse(await fs.readFile(join(dir, 'fixture.json'), 'utf8')) as Fixture;
      const manifest = JSON.parse(await fs.readFile(join(dir, 'checkpoint.json'), 'utf8'));
      expect(manifest.format).toBe('skingan-checkpoint@1');
      const [optName] = manifest.optimizers as string[];

      // AdamW from the start: 3 steps, then 2 more.
      const k1 = tf.variable(tf.tensor2d(A0, [2, 3]));
      const b1 = tf.variable(tf.tensor1d(B0));
      const fresh = optimizerFor(f, k1, b1);
      for (let t = 1; t <= 3; t++) step(fresh, f, t, k1, b1);
      // Where the old optimizer got to: the same place, to float32 rounding (bit for bit where the
      // old one was already adamStep).
      expectSame(read(k1), f.weightsAfter.kernel, digits);
      expectSame(read(b1), f.weightsAfter.bias, digits);

      // The old state, restored into a new AdamW at the old weights.
      const k2 = tf.variable(tf.tensor2d(f.weightsAfter.kernel, [2, 3]));
      const b2 = tf.variable(tf.tensor1d(f.weightsAfter.bias));
      const restored = optimizerFor(f, k2, b2);
      await new CheckpointStore(FIXTURES).restore(
        { step: 3, epoch: 0, dir },
        { optimizers: { [optName!]: restored } },
      );
      const saved = await readTensors(join(dir, 'optimizers'), optName!);
      const [ours, theirs] = [await restored.getWeights(), await fresh.getWeights()];
      expect(read(ours[0]!.tensor)).toEqual(read(theirs[0]!.tensor)); // iterations and step counts
      const prefix = (ws: { name: string }[]) => ws.map((w) => w.name.replace(/:.*\//, ':/'));
      expect(prefix(ours)).toEqual(prefix(theirs)); // moments of the same variables (0, 1)
      // The moments are the saved ones, unchanged (first the kernel's m, v, then the bias's).
      const old = saved.slice(1).map((w) => [w.name, read(w.tensor)] as const);
      const byName = (suffix: string, which: number) => old.filter(([n]) => n.endsWith(suffix))[which]![1];
      const mName = name === 'classifier-fastai-adam' ? '/grad_avg' : '/m';
      const vName = name === 'classifier-fastai-adam' ? '/sqr_avg' : '/v';
      expect(read(ours[1]!.tensor)).toEqual(byName(mName, 0));
      expect(read(ours[2]!.tensor)).toEqual(byName(vName, 0));
      expect(read(ours[3]!.tensor)).toEqual(byName(mName, 1));
      expect(read(ours[4]!.tensor)).toEqual(byName(vName, 1));

      for (let t = 4; t <= 5; t++) {
        step(fresh, f, t, k1, b1);
        step(restored, f, t, k2, b2);
      }
      expectSame(read(k2), read(k1), digits);
      expectSame(read(b2), read(b1), digits);
      tf.dispose([k1, b1, k2, b2, ...saved.map((w) => w.tensor)]);
      fresh.dispose();
      restored.dispose();
    });
  }
});
