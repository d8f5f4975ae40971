import type { FeatureMatrix } from '../src/index.js';

/** Parameters of a synthetic feature set; the same as in reference/make_reference.py. */
export interface FeatureSpec {
  seed: number;
  n: number;
  d: number;
  shift: number;
  scale: number;
  mix: number;
}

/**
 * Numerical Recipes' 32-bit LCG, as in make_reference.py. normal() = (sum of 12 uniforms) − 6 uses
 * only exact float64 additions, so Python and JavaScript draw bit-identical values.
 */
export class Lcg {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  uniform(): number {
    this.state = (Math.imul(1664525, this.state) + 1013904223) >>> 0;
    return this.state / 4294967296;
  }
  normal(): number {
    let s = 0;
    for (let i = 0; i < 12; i++) s += this.uniform();
    return s - 6;
  }
}

/** x[i][j] = shift·((j mod 5) − 2)/2 + scale·(z[i][j] + mix·z[i][j−1]), in make_reference.py's order. */
export function syntheticFeatures(spec: FeatureSpec): FeatureMatrix {
  const g = new Lcg(spec.seed);
  const data = new Float64Array(spec.n * spec.d);
  for (let i = 0; i < spec.n; i++) {
    let prev = 0;
    for (let j = 0; j < spec.d; j++) {
      const z = g.normal();
      data[i * spec.d + j] = (spec.shift * ((j % 5) - 2)) / 2 + spec.scale * (z + spec.mix * prev);
      prev = z;
    }
  }
  return { rows: spec.n, cols: spec.d, data };
}

export interface Checksum {
  first: number;
  last: number;
  sum: number;
}

export function checksum(m: FeatureMatrix): Checksum {
  // numpy's sum is pairwise, so `sum` can differ in the last bits: tests compare it to 1e-12.
  let sum = 0;
  for (const v of m.data) sum += v;
  return { first: m.data[0]!, last: m.data[m.data.length - 1]!, sum };
}
