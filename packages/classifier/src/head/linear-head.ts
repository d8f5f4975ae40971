import { AdamW, Rng, SkinganError } from '@skingan/core';
import { classificationReportFromPredictions } from '@skingan/metrics';
import * as tf from '@tensorflow/tfjs';
import { crossEntropy } from '../train/loss.js';

/** Feature vectors, one row of `dim` values per image, with their class indices. */
export interface FeatureRows {
  x: Float32Array;
  labels: Int32Array;
  dim: number;
}

export interface LinearHeadOptions {
  numClasses: number;
  /** Seeds the batch order (the weights start at zero, so the seed is the only randomness). */
  seed: number | string;
  /** Default 30. */
  epochs?: number;
  /** Default 256. */
  batchSize?: number;
  /** Adam's step size (default 1e-3). */
  learningRate?: number;
  /** Decoupled weight decays tried, the one with the best validation balanced accuracy kept (default 1e-4, 1e-3, 1e-2). */
  weightDecays?: readonly number[];
  /** Loss weight per class (see `balancedClassWeights`); default unweighted. */
  classWeights?: readonly number[];
}

export interface LinearHeadResult {
  head: LinearHead;
  weightDecay: number;
  /** 0-based epoch whose weights `head` holds. */
  bestEpoch: number;
  valBalancedAccuracy: number;
  /** Validation balanced accuracy per epoch, per weight decay tried. */
  history: { weightDecay: number; valBalancedAccuracy: number[] }[];
}

/**
 * Multinomial logistic regression on fixed features (the fast path's head, docs/fast-path.md):
 * inputs standardized with the training rows' mean and deviation, weights from zero, Adam with
 * decoupled weight decay, the epoch and the decay with the best validation balanced accuracy kept
 * (the classifier's own rule). A few thousand 2048-d rows train in seconds.
 */
export function trainLinearHead(
  train: FeatureRows,
  val: FeatureRows,
  options: LinearHeadOptions,
): LinearHeadResult {
  checkRows(train, options.numClasses, 'training');
  checkRows(val, options.numClasses, 'validation');
  if (val.dim !== train.dim) {
    throw new SkinganError(`validation features have ${val.dim} values, training features ${train.dim}`);
  }
  const { mean, std } = standardization(train);
  const decays = options.weightDecays ?? [1e-4, 1e-3, 1e-2];
  let best: LinearHeadResult | undefined;
  const history: LinearHeadResult['history'] = [];
  for (const wd of decays) {
    const run = fitOne(train, val, mean, std, wd, options);
    history.push({ weightDecay: wd, valBalancedAccuracy: run.curve });
    if (!best || run.score > best.valBalancedAccuracy) {
      best?.head.dispose();
      best = {
        head: run.head,
        weightDecay: wd,
        bestEpoch: run.epoch,
        valBalancedAccuracy: run.score,
        history,
      };
    } else {
      run.head.dispose();
    }
  }
  return best!;
}

/** A trained head: standardization, then one affine map to class logits. */
export class LinearHead {
  // The standardization as tensors, made once: `logits` runs at every training step.
  private readonly meanTensor: tf.Tensor1D;
  private readonly stdTensor: tf.Tensor1D;

  constructor(
    readonly mean: Float32Array,
    readonly std: Float32Array,
    readonly weights: tf.Tensor2D,
    readonly bias: tf.Tensor1D,
  ) {
    // kept: a head made inside a tf.tidy outlives it, until `dispose`.
    this.meanTensor = tf.keep(tf.tensor1d(mean));
    this.stdTensor = tf.keep(tf.tensor1d(std));
  }

  get dim(): number {
    return this.mean.length;
  }

  /** Class probabilities, one row per feature row. */
  predictProba(rows: Float32Array): number[][] {
    const n = rows.length / this.dim;
    const p = tf.tidy(() => tf.softmax(this.logits(tf.tensor2d(rows, [n, this.dim]))));
    const flat = p.dataSync();
    p.dispose();
    const k = this.bias.shape[0];
    return Array.from({ length: n }, (_, i) => Array.from(flat.subarray(i * k, (i + 1) * k)));
  }

  logits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const z = tf.div(tf.sub(x, this.meanTensor), this.stdTensor);
      return tf.add(tf.matMul(z, this.weights), this.bias) as tf.Tensor2D;
    });
  }

  /** Frees the weights, the bias and the standardization. */
  dispose(): void {
    tf.dispose([this.weights, this.bias, this.meanTensor, this.stdTensor]);
  }
}

function fitOne(
  train: FeatureRows,
  val: FeatureRows,
  mean: Float32Array,
  std: Float32Array,
  weightDecay: number,
  o: LinearHeadOptions,
): { head: LinearHead; epoch: number; score: number; curve: number[] } {
  const k = o.numClasses;
  const d = train.dim;
  const n = train.labels.length;
  const epochs = o.epochs ?? 30;
  const batchSize = o.batchSize ?? 256;
  const lr = o.learningRate ?? 1e-3;
  // tidy frees the zeros a variable is made from (the variable holds its own reference).
  const w = tf.tidy(() => tf.variable(tf.zeros([d, k]), true)) as tf.Variable<tf.Rank.R2>;
  const b = tf.tidy(() => tf.variable(tf.zeros([k]), true)) as tf.Variable<tf.Rank.R1>;
  const head = new LinearHead(mean, std, w, b);
  // Decoupled decay on the weights only, not the bias (fastai's wd_bn_bias=False).
  const optimizer = new AdamW(
    [
      { variables: [w], weightDecay },
      { variables: [b], weightDecay: 0 },
    ],
    { lr },
  );
  const x = tf.tensor2d(train.x, [n, d]);
  const cw = o.classWeights ? tf.tensor1d(Array.from(o.classWeights)) : undefined;
  let best = {
    epoch: -1,
    score: -1,
    w: undefined as tf.Tensor2D | undefined,
    b: undefined as tf.Tensor1D | undefined,
  };
  const curve: number[] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = new Rng(`${o.seed}:head:${epoch}`).shuffle(Array.from({ length: n }, (_, i) => i));
      for (let start = 0; start < n; start += batchSize) {
        const idx = order.slice(start, start + batchSize);
        tf.tidy(() => {
          const xb = tf.gather(x, tf.tensor1d(idx, 'int32')) as tf.Tensor2D;
          const yb = tf.tensor1d(
            idx.map((i) => train.labels[i]!),
            'int32',
          );
          const { grads } = tf.variableGrads(() => crossEntropy(head.logits(xb), yb, cw), [w, b]);
          optimizer.applyGradients(grads);
        });
      }
      const score = balancedAccuracy(head, val, k);
      curve.push(score);
      if (score > best.score) {
        tf.dispose([best.w, best.b]);
        best = { epoch, score, w: tf.clone(w), b: tf.clone(b) };
      }
    }
    const out = new LinearHead(mean, std, best.w!, best.b!);
    best.w = best.b = undefined;
    return { head: out, epoch: best.epoch, score: best.score, curve };
  } finally {
    head.dispose(); // w, b and the training head's standardization
    tf.dispose([x, ...(cw ? [cw] : []), ...(best.w ? [best.w, best.b!] : [])]);
    optimizer.dispose();
  }
}

function balancedAccuracy(head: LinearHead, rows: FeatureRows, k: number): number {
  const probs = head.predictProba(rows.x);
  const pred = probs.map((p) => p.indexOf(Math.max(...p)));
  return classificationReportFromPredictions(Array.from(rows.labels), pred, { numClasses: k })
    .balancedAccuracy;
}

/** Per-feature mean and standard deviation of the rows (deviation floored, so constant features stay 0). */
function standardization(rows: FeatureRows): { mean: Float32Array; std: Float32Array } {
  const { x, dim } = rows;
  const n = x.length / dim;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) mean[j]! += x[i * dim + j]!;
  }
  for (let j = 0; j < dim; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) sq[j]! += (x[i * dim + j]! - mean[j]!) ** 2;
  }
  const std = new Float32Array(dim);
  for (let j = 0; j < dim; j++) std[j] = Math.max(Math.sqrt(sq[j]! / n), 1e-6);
  return { mean: Float32Array.from(mean), std };
}

function checkRows(rows: FeatureRows, k: number, what: string): void {
  const n = rows.labels.length;
  if (n === 0) throw new SkinganError(`no ${what} rows`, { code: 'BAD_INPUT' });
  if (rows.x.length !== n * rows.dim) {
    throw new SkinganError(`${what} features hold ${rows.x.length} values, not ${n} rows × ${rows.dim}`);
  }
  for (const l of rows.labels) {
    if (l < 0 || l >= k) throw new SkinganError(`${what} label ${l} is outside the ${k} classes`);
  }
}
