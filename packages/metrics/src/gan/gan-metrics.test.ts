import { Rng } from '@skingan/core';
import { describe, expect, it } from 'vitest';
import { syntheticFeatures } from '../../test/fixtures.js';
import { type FeatureMatrix, selectRows, toFeatureMatrix } from './feature-matrix.js';
import { chooseFactors, featureStatistics, fid, fidWithFactors, frechetDistance } from './fid.js';
import { kid, kidFromSubsets, polynomialMmd2 } from './kid.js';
import { perClass } from './per-class.js';
import { prdc } from './prdc.js';

const spec = { seed: 1, n: 300, d: 12, shift: 0, scale: 1, mix: 0.5 };

function shuffled(m: FeatureMatrix, seed: number): FeatureMatrix {
  return selectRows(m, new Rng(seed).shuffle(Array.from({ length: m.rows }, (_, i) => i)));
}

function withNoise(m: FeatureMatrix, sigma: number, seed: number): FeatureMatrix {
  const rng = new Rng(seed);
  return { rows: m.rows, cols: m.cols, data: m.data.map((v) => v + sigma * rng.normal()) };
}

describe('FID properties', () => {
  it('FID(real, shuffled real) ≈ 0, with more and with fewer images than dimensions', () => {
    for (const s of [spec, { ...spec, n: 40, d: 64 }]) {
      const real = syntheticFeatures(s);
      const r = fid(real, shuffled(real, 5));
      expect(Math.abs(r.fid)).toBeLessThan(1e-9);
      expect(r.meanTerm).toBeLessThan(1e-20);
    }
  });

  it('grows monotonically as more Gaussian noise is added to a feature set', () => {
    const real = syntheticFeatures(spec);
    const sigmas = [0, 0.05, 0.1, 0.25, 0.5, 1, 2, 4];
    const values = sigmas.map((s) => fid(real, withNoise(real, s, 9)).fid);
    expect(Math.abs(values[0]!)).toBeLessThan(1e-9);
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
  });

  it('gives the same value whichever way each covariance is factored', () => {
    for (const [nr, ng, d] of [
      [30, 20, 12],
      [15, 40, 24],
      [60, 50, 8],
    ] as const) {
      const a = syntheticFeatures({ ...spec, n: nr, d });
      const b = syntheticFeatures({ ...spec, n: ng, d, seed: 2, shift: 0.3, scale: 1.2 });
      const values = (
        [
          [false, false],
          [false, true],
          [true, false],
          [true, true],
        ] as const
      ).map(([x, y]) => fidWithFactors(a, b, [x, y]).fid);
      for (const v of values) expect(Math.abs(v - values[0]!) / values[0]!).toBeLessThan(1e-10);
    }
  });

  it('picks the cheaper factorization: data for small sets, eigendecomposition for large ones', () => {
    expect(chooseFactors(480, 480, 2048)).toEqual([false, false]);
    expect(chooseFactors(2100, 2100, 2048)).toEqual([false, false]);
    expect(chooseFactors(20000, 20000, 2048)).toEqual([true, true]);
    expect(chooseFactors(5000, 100, 64)).toEqual([true, false]);
    expect(chooseFactors(300, 250, 12)).toEqual([true, true]);
  });

  it('is symmetric and the statistics route agrees', () => {
    const a = syntheticFeatures(spec);
    const b = syntheticFeatures({ ...spec, seed: 2, shift: 0.4 });
    const ab = fid(a, b).fid;
    expect(fid(b, a).fid).toBeCloseTo(ab, 10);
    expect(frechetDistance(featureStatistics(a), featureStatistics(b)).fid).toBeCloseTo(ab, 10);
  });

  it('equals the closed form for 1-d features: (μ1 − μ2)² + (σ1 − σ2)²', () => {
    const a = [[1], [2], [3], [4]]; // mean 2.5, var 5/3
    const b = [[0], [4], [8], [12]]; // mean 6, var 80/3
    const expected = (2.5 - 6) ** 2 + (Math.sqrt(5 / 3) - Math.sqrt(80 / 3)) ** 2;
    expect(fid(a, b).fid).toBeCloseTo(expected, 12);
  });

  it('names what is wrong with the input', () => {
    expect(() =>
      fid(
        [
          [1, 2],
          [3, 4],
        ],
        [[1], [2]],
      ),
    ).toThrow(/real features have 2 dimensions, generated ones 1/);
    expect(() =>
      fid(
        [[1, 2]],
        [
          [1, 2],
          [3, 4],
        ],
      ),
    ).toThrow(/at least 2 real images, got 1/);
    expect(() =>
      fid(
        [
          [1, 2],
          [3, Number.NaN],
        ],
        [
          [1, 2],
          [3, 4],
        ],
      ),
    ).toThrow(/row 1 has a non-finite value/);
    expect(() => toFeatureMatrix([[1, 2], [3]])).toThrow(/row 1 has 1 values, row 0 has 2/);
  });
});

describe('KID', () => {
  const real = syntheticFeatures({ ...spec, n: 150 });
  const same = syntheticFeatures({ ...spec, n: 140, seed: 2 });
  const far = syntheticFeatures({ ...spec, n: 140, seed: 3, shift: 1 });

  it('is reproducible with a seed, near 0 for one distribution, larger for a shifted one', () => {
    const a = kid(real, same, { subsets: 20, subsetSize: 100, seed: 1 });
    expect(kid(real, same, { subsets: 20, subsetSize: 100, seed: 1 })).toEqual(a);
    expect(kid(real, same, { subsets: 20, subsetSize: 100, seed: 2 }).kid).not.toBe(a.kid);
    expect(a.subsetSize).toBe(100);
    expect(Math.abs(a.kid)).toBeLessThan(3 * a.std + 0.02);
    const b = kid(real, far, { subsets: 20, subsetSize: 100, seed: 1 });
    expect(b.kid).toBeGreaterThan(a.kid + 10 * a.std);
  });

  it('uses subsets of size min(subsetSize, n_real, n_fake)', () => {
    expect(kid(real, same, { subsets: 2 }).subsetSize).toBe(140);
  });

  it('gives each subset the MMD² of its rows when the generated×generated block is too large to cache', () => {
    // 4,100² generated pairs pass the 16 M-entry cache limit; the real blocks stay cached.
    const small = syntheticFeatures({ ...spec, n: 12, d: 3 });
    const many = syntheticFeatures({ ...spec, n: 4100, d: 3, seed: 5, shift: 0.5 });
    const subsets = [
      { real: [0, 3, 5, 7, 11], fake: [4099, 17, 2048, 3, 1000, 12] },
      { real: [1, 2], fake: [0, 4098] },
    ];
    const r = kidFromSubsets(small, many, subsets);
    subsets.forEach((s, i) => {
      const expected = polynomialMmd2(selectRows(small, s.real), selectRows(many, s.fake));
      expect(r.values[i]).toBeCloseTo(expected, 12);
    });
    expect(r.kid).toBeCloseTo((r.values[0]! + r.values[1]!) / 2, 14);
  });
});

describe('precision/recall and density/coverage', () => {
  const real = syntheticFeatures({ ...spec, n: 120, d: 6 });

  it('a set against itself: precision = recall = coverage = 1', () => {
    const r = prdc(real, shuffled(real, 2));
    expect(r).toMatchObject({ precision: 1, recall: 1, coverage: 1 });
    expect(r.density).toBeGreaterThan(0.5);
  });

  it('a far-away set: all zero', () => {
    const far = { ...real, data: real.data.map((v) => v + 100) };
    expect(prdc(real, far)).toMatchObject({ precision: 0, recall: 0, density: 0, coverage: 0 });
  });

  it('a collapsed generator (one mode): high precision, low recall', () => {
    const modeRows = Array.from({ length: 60 }, () => 0);
    const collapsed = withNoise(selectRows(real, modeRows), 0.01, 1);
    const r = prdc(real, collapsed);
    expect(r.precision).toBe(1);
    expect(r.recall).toBeLessThan(0.1);
    expect(r.coverage).toBeLessThan(0.1);
  });

  it('needs more than k images', () => {
    expect(() => prdc(selectRows(real, [0, 1, 2, 3, 4]), real)).toThrow(/at least 6 real images, got 5/);
  });
});

describe('perClass', () => {
  it('computes each class on its own rows and skips classes with too few images', () => {
    const real = syntheticFeatures({ ...spec, n: 60 });
    const fake = syntheticFeatures({ ...spec, n: 50, seed: 4 });
    const realLabels = Array.from({ length: 60 }, (_, i) => i % 2);
    const fakeLabels = Array.from({ length: 50 }, (_, i) => (i < 49 ? i % 2 : 2));
    const out = perClass(real, realLabels, fake, fakeLabels, ['A', 'B', 'C'], (r, g) => fid(r, g).fid);
    const rowsOf = (labels: number[], c: number) => labels.flatMap((l, i) => (l === c ? [i] : []));
    const classA = fid(selectRows(real, rowsOf(realLabels, 0)), selectRows(fake, rowsOf(fakeLabels, 0))).fid;
    expect(out[0]!.value).toBeCloseTo(classA, 12);
    expect(out[0]).toMatchObject({ class: 'A', nReal: 30, nFake: 25 });
    expect(out[2]).toMatchObject({ class: 'C', nReal: 0, nFake: 1, value: null });
    expect(out[2]!.skipped).toMatch(/has 0 real and 1 generated/);
  });

  it('rejects labels that do not match the rows', () => {
    expect(() => perClass([[1], [2]], [0], [[1], [2]], [0, 0], ['A'], () => 0)).toThrow(
      /1 labels for 2 feature rows/,
    );
  });
});
