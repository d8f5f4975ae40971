import { describe, expect, it } from 'vitest';
import { binomialHalfCdf, logGamma, studentTCdf, studentTQuantile } from './special.js';

describe('special functions', () => {
  it('logGamma matches factorials', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(11)).toBeCloseTo(Math.log(3628800), 12);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 13);
  });

  it('Student t quantiles match scipy.stats.t.ppf(0.975, df)', () => {
    // scipy 1.10.1 (Debian python3-scipy).
    const scipy: [number, number][] = [
      [1, 12.706204736432095],
      [2, 4.302652729911275],
      [3, 3.182446305284263],
      [4, 2.7764451051977987],
      [9, 2.2621571627409915],
      [29, 2.045229642132703],
      [99, 1.9842169515086827],
    ];
    for (const [df, q] of scipy) expect(studentTQuantile(0.975, df)).toBeCloseTo(q, 9);
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-2.7764451051977987, 9);
    expect(studentTCdf(0, 7)).toBeCloseTo(0.5, 14);
  });

  it('binomial(½) CDF', () => {
    expect(binomialHalfCdf(2, 14)).toBeCloseTo(106 / 16384, 14);
    expect(binomialHalfCdf(5, 10) + binomialHalfCdf(4, 10)).toBeCloseTo(1, 13);
    expect(binomialHalfCdf(10, 10)).toBe(1);
  });
});
