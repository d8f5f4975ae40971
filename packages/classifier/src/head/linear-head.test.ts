import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { type FeatureRows, trainLinearHead } from './linear-head.js';

/** n rows of `dim` values per class, class c centred at +sep on feature c and 0 elsewhere. */
function clusters(perClass: number, k: number, dim: number, sep: number, seed: number): FeatureRows {
  let s = seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31 - 0.5;
  };
  const x = new Float32Array(perClass * k * dim);
  const labels = new Int32Array(perClass * k);
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < perClass; i++) {
      const r = c * perClass + i;
      labels[r] = c;
      for (let j = 0; j < dim; j++) x[r * dim + j] = rand() + (j === c ? sep : 0);
    }
  }
  return { x, labels, dim };
}

describe('trainLinearHead', () => {
  it("takes Adam's first step from zero: each weight moves by −lr·sign of its gradient zᵀ(1/k − y)/n", () => {
    // Two rows, two features, two classes; one batch, one epoch, no decay.
    const train: FeatureRows = {
      x: Float32Array.from([1, 3, 3, 1]),
      labels: Int32Array.from([0, 1]),
      dim: 2,
    };
    const r = trainLinearHead(train, train, {
      numClasses: 2,
      seed: 1,
      epochs: 1,
      batchSize: 8,
      learningRate: 0.1,
      weightDecays: [0],
    });
    // Standardized: mean (2, 2), std (1, 1): z = [[-1, 1], [1, -1]], p − y = [[-½, ½], [½, -½]].
    // Gradient of the mean NLL at W = 0, zᵀ(p − y)/2: feature 0 → (½, -½), feature 1 → (-½, ½);
    // Adam's first step is −lr·sign(g).
    expect(Array.from(r.head.mean)).toEqual([2, 2]);
    expect(Array.from(r.head.std)).toEqual([1, 1]);
    const w = Array.from(r.head.weights.dataSync());
    const expected = [-0.1, 0.1, 0.1, -0.1];
    for (let i = 0; i < 4; i++) expect(w[i]).toBeCloseTo(expected[i]!, 5);
    // The bias gradient is Σ(p − y)/2 = 0 for both classes: Adam leaves it at 0.
    for (const v of r.head.bias.dataSync()) expect(v).toBeCloseTo(0, 6);
    expect(r.head.predictProba(train.x).map((p) => p.indexOf(Math.max(...p)))).toEqual([0, 1]);
    r.head.dispose();
  });

  it('separates clusters, keeps the best decay and epoch, and is the same for the same seed', () => {
    const train = clusters(40, 4, 6, 1.5, 1);
    const val = clusters(20, 4, 6, 1.5, 2);
    const opts = { numClasses: 4, seed: 7, epochs: 8, batchSize: 32, learningRate: 0.05 };
    const a = trainLinearHead(train, val, opts);
    expect(a.valBalancedAccuracy).toBeGreaterThan(0.9);
    expect(a.history.map((h) => h.weightDecay)).toEqual([1e-4, 1e-3, 1e-2]);
    const bestOf = Math.max(...a.history.flatMap((h) => h.valBalancedAccuracy));
    expect(a.valBalancedAccuracy).toBe(bestOf);
    const curve = a.history.find((h) => h.weightDecay === a.weightDecay)!.valBalancedAccuracy;
    expect(curve[a.bestEpoch]).toBe(a.valBalancedAccuracy);
    const b = trainLinearHead(train, val, opts);
    expect(Array.from(b.head.weights.dataSync())).toEqual(Array.from(a.head.weights.dataSync()));
    a.head.dispose();
    b.head.dispose();
  });

  it('trains the decays side by side exactly as it would train each alone', () => {
    const train = clusters(30, 4, 6, 0.8, 4);
    const val = clusters(15, 4, 6, 0.8, 5);
    const opts = { numClasses: 4, seed: 3, epochs: 6, batchSize: 16, learningRate: 0.05 };
    const together = trainLinearHead(train, val, { ...opts, weightDecays: [0.5, 0] });
    const alone = [0.5, 0].map((wd) => trainLinearHead(train, val, { ...opts, weightDecays: [wd] }));
    expect(together.history.map((h) => h.valBalancedAccuracy)).toEqual(
      alone.map((a) => a.history[0]!.valBalancedAccuracy),
    );
    // The decays do lead to other weights (so the comparison can fail).
    expect(Array.from(alone[0]!.head.weights.dataSync())).not.toEqual(
      Array.from(alone[1]!.head.weights.dataSync()),
    );
    const winner = alone[together.weightDecay === 0.5 ? 0 : 1]!;
    expect(together.bestEpoch).toBe(winner.bestEpoch);
    const w = together.head.weights.dataSync();
    winner.head.weights.dataSync().forEach((v, i) => {
      expect(w[i]).toBeCloseTo(v, 5);
    });
    for (const r of [together, ...alone]) r.head.dispose();
  });

  it('makes its standardization tensors once: training and prediction leave no tensor behind', () => {
    const train = clusters(10, 3, 4, 2, 3);
    const before = tf.memory().numTensors;
    const r = trainLinearHead(train, train, { numClasses: 3, seed: 1, epochs: 2, batchSize: 8 });
    // The head: weights, bias, mean and std.
    expect(tf.memory().numTensors).toBe(before + 4);
    const p = r.head.predictProba(train.x);
    for (let i = 0; i < 3; i++) expect(r.head.predictProba(train.x)).toEqual(p);
    const x = tf.tensor2d(train.x, [30, 4]);
    tf.dispose(r.head.logits(x));
    x.dispose();
    expect(tf.memory().numTensors).toBe(before + 4);
    // Standardized with the rows' own mean and deviation: the logits of the mean row are the bias.
    const meanRow = r.head.predictProba(r.head.mean)[0]!;
    const softmax = tf.softmax(r.head.bias);
    const bias = Array.from(softmax.dataSync());
    softmax.dispose();
    for (let c = 0; c < 3; c++) expect(meanRow[c]).toBeCloseTo(bias[c]!, 5);
    r.head.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses rows that do not fit', () => {
    const ok: FeatureRows = { x: new Float32Array(4), labels: Int32Array.from([0, 1]), dim: 2 };
    expect(() =>
      trainLinearHead({ ...ok, labels: Int32Array.from([0, 2]) }, ok, { numClasses: 2, seed: 1 }),
    ).toThrow('training label 2 is outside the 2 classes');
    expect(() => trainLinearHead(ok, { ...ok, x: new Float32Array(3) }, { numClasses: 2, seed: 1 })).toThrow(
      'validation features hold 3 values, not 2 rows × 2',
    );
  });
});
