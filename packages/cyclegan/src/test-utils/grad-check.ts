import * as tf from '@tensorflow/tfjs';

/**
 * Central finite differences of scalar `f` at `x`, one coordinate at a time (float32 all the way:
 * keep tensors tiny). `h` trades truncation error (∝ h²) against rounding error (∝ ε·|f|/h).
 */
export function finiteDifferences(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, h = 1e-2): Float32Array {
  const base = x.dataSync().slice();
  const out = new Float32Array(base.length);
  for (let i = 0; i < base.length; i++) {
    const at = (delta: number) =>
      tf.tidy(() => {
        const v = base.slice();
        v[i] = base[i]! + delta;
        return f(tf.tensor(v, x.shape)).dataSync()[0]!;
      });
    out[i] = (at(h) - at(-h)) / (2 * h);
  }
  return out;
}

/** Largest |a − b| / (atol + rtol·|b|) over all elements; ≤ 1 means they match. */
export function worstMismatch(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  atol: number,
  rtol: number,
): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++)
    worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (atol + rtol * Math.abs(b[i]!)));
  return worst;
}

/** Deterministic pseudo-random tensor (tests must not depend on tf.random's seeding). */
export function fixedTensor(shape: number[], seed = 1, scale = 1): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return tf.tensor(v, shape);
}
