import * as tf from '@tensorflow/tfjs';

/** The serializable state of an `Rng`: four 32-bit words. */
export type RngState = readonly [number, number, number, number];

/**
 * A small, fast, seedable PRNG (sfc32) whose state can be saved in a checkpoint and restored, so a
 * resumed run draws the same noise, shuffles and augmentations as an uninterrupted one. Values are
 * produced in JavaScript, hence identical on every backend and machine.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | string | RngState = 0) {
    if (Array.isArray(seed)) {
      [this.a, this.b, this.c, this.d] = seed as unknown as [number, number, number, number];
    } else {
      const h = hashSeed(String(seed));
      [this.a, this.b, this.c, this.d] = h;
      for (let i = 0; i < 15; i++) this.nextUint32(); // warm-up, as recommended for sfc32
    }
  }

  get state(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  set state(s: RngState) {
    [this.a, this.b, this.c, this.d] = s;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /**
   * Standard normal (Box-Muller). The second value of each pair is dropped on purpose: a cached
   * spare would be state outside the four words, and a resumed stream would start one value off.
   */
  normal(): number {
    let u = 0;
    while (u === 0) u = this.float();
    const v = this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** An independent stream derived from this one's seed material and a name (e.g. 'noise', 'shuffle'). */
  fork(name: string): Rng {
    return new Rng(`${this.a}:${this.b}:${this.c}:${this.d}:${name}`);
  }

  /** A 31-bit integer seed for tfjs ops and initializers that take one. */
  seed(): number {
    return this.nextUint32() >>> 1;
  }

  /** A float32 tensor of standard normals drawn from this stream (backend-independent). */
  normalTensor<R extends tf.Rank = tf.Rank>(shape: readonly number[], mean = 0, std = 1): tf.Tensor<R> {
    return tensorOf<R>(shape, () => mean + std * this.normal());
  }

  /** A float32 tensor uniform in [lo, hi). */
  uniformTensor<R extends tf.Rank = tf.Rank>(shape: readonly number[], lo = 0, hi = 1): tf.Tensor<R> {
    return tensorOf<R>(shape, () => lo + (hi - lo) * this.float());
  }
}

/** A float32 tensor of `draw()`s, in row-major order. */
function tensorOf<R extends tf.Rank>(shape: readonly number[], draw: () => number): tf.Tensor<R> {
  const values = Float32Array.from({ length: tf.util.sizeFromShape([...shape]) }, draw);
  return tf.tensor(values, [...shape], 'float32') as unknown as tf.Tensor<R>;
}

/** cyrb128: spreads any string over four 32-bit words. */
function hashSeed(str: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}
