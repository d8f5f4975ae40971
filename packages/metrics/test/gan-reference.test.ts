import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  featureStatistics,
  fid,
  frechetDistance,
  kid,
  kidFromSubsets,
  polynomialMmd2,
  prdc,
} from '../src/index.js';
import { type Checksum, checksum, type FeatureSpec, syntheticFeatures } from './fixtures.js';

// Values computed by reference/make_reference.py with Debian's python3-numpy and python3-scipy
// (FID via scipy.linalg.sqrtm). Rerun it to regenerate reference/gan-reference.json.
interface Case {
  name: string;
  real: FeatureSpec;
  fake: FeatureSpec;
  realChecksum: Checksum;
  fakeChecksum: Checksum;
}
const ref = JSON.parse(readFileSync(new URL('./reference/gan-reference.json', import.meta.url), 'utf8')) as {
  fid: (Case & { fid: number })[];
  kid: (Case & {
    subsets?: { real: number[]; fake: number[] }[];
    values?: number[];
    mean: number;
    std: number;
  })[];
  prdc: (Case & { precision: number; recall: number; density: number; coverage: number })[];
};

function load(c: Case) {
  const real = syntheticFeatures(c.real);
  const fake = syntheticFeatures(c.fake);
  // The fixtures must be the very matrices Python used, or the comparison means nothing.
  for (const [m, sum] of [
    [real, c.realChecksum],
    [fake, c.fakeChecksum],
  ] as const) {
    const got = checksum(m);
    expect(got.first).toBe(sum.first);
    expect(got.last).toBe(sum.last);
    expect(got.sum).toBeCloseTo(sum.sum, 9);
  }
  return { real, fake };
}

function expectRelative(actual: number, expected: number, tol: number): void {
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(tol);
}

describe('FID against scipy.linalg.sqrtm', () => {
  for (const c of ref.fid) {
    it(`${c.name} (n=${c.real.n}/${c.fake.n}, d=${c.real.d}) to 1e-6 relative`, () => {
      const { real, fake } = load(c);
      const r = fid(real, fake);
      expectRelative(r.fid, c.fid, 1e-6);
      expect(r.meanTerm + r.covarianceTerm).toBeCloseTo(r.fid, 12);
      // The statistics route (two eigendecompositions) agrees with the data route.
      expectRelative(frechetDistance(featureStatistics(real), featureStatistics(fake)).fid, c.fid, 1e-6);
    });
  }
});

describe('KID against numpy', () => {
  it('reproduces per-subset unbiased MMD² on the subsets numpy drew', () => {
    const c = ref.kid.find((k) => k.subsets)!;
    const { real, fake } = load(c);
    const r = kidFromSubsets(real, fake, c.subsets!);
    r.values.forEach((v, i) => {
      expectRelative(v, c.values![i]!, 1e-9);
    });
    expectRelative(r.kid, c.mean, 1e-9);
    expectRelative(r.std, c.std, 1e-9);
  });

  it('equals the whole-set MMD² when subsets are the whole (equal-size) sets', () => {
    const c = ref.kid.find((k) => k.name === 'whole sets')!;
    const { real, fake } = load(c);
    const r = kid(real, fake, { subsets: 5, seed: 3 });
    expect(r.subsetSize).toBe(c.real.n);
    expectRelative(r.kid, c.mean, 1e-9);
    expect(r.std).toBeLessThan(1e-12);
    expectRelative(polynomialMmd2(real, fake), c.mean, 1e-9);
  });
});

describe('precision/recall and density/coverage against numpy/scipy', () => {
  for (const c of ref.prdc) {
    it(c.name, () => {
      const { real, fake } = load(c);
      const r = prdc(real, fake);
      expect(r.kPrecisionRecall).toBe(3);
      expect(r.kDensityCoverage).toBe(5);
      expect(r.precision).toBeCloseTo(c.precision, 12);
      expect(r.recall).toBeCloseTo(c.recall, 12);
      expect(r.density).toBeCloseTo(c.density, 12);
      expect(r.coverage).toBeCloseTo(c.coverage, 12);
    });
  }
});
