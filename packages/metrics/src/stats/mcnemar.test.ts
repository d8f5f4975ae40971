import { describe, expect, it } from 'vitest';
import { mcnemarExact, mcnemarTest } from './mcnemar.js';

describe("McNemar's exact test", () => {
  it('Armitage & Berry (1994), p. 127: two culture media, b = 12, c = 2 → P = 0.0129', () => {
    // Armitage P, Berry G. Statistical Methods in Medical Research, 3rd ed., Blackwell 1994, p. 127
    // (50 sputum specimens on media A and B; growth on A only 12, on B only 2), as worked in the
    // StatsDirect manual's exact matched-pairs example: "P (two sided) = 0.0129".
    // Exactly: 2·(C(14,0) + C(14,1) + C(14,2)) / 2^14 = 2·106/16384.
    const r = mcnemarExact(12, 2);
    expect(r.pValue).toBeCloseTo(0.0129, 4);
    expect(r.pValue).toBeCloseTo((2 * 106) / 16384, 13);
  });

  it('Fagerland, Lydersen & Laake (2013), Table 1: b = 1, c = 7 → exact 0.070, mid-p 0.039', () => {
    // BMC Med Res Methodol 13:91, airway hyper-responsiveness before/after stem cell transplantation
    // (Bentur et al.): exact conditional p = 0.070, mid-p = 0.039.
    const r = mcnemarExact(1, 7);
    expect(r.pValue).toBeCloseTo(0.0703125, 12); // 2·9/256
    expect(r.midP).toBeCloseTo(0.0390625, 12); // 0.0703125 − 8/256
    expect(mcnemarExact(7, 1).pValue).toBe(r.pValue);
  });

  it('b = c gives p = 1; no discordant pairs gives p = 1', () => {
    expect(mcnemarExact(5, 5).pValue).toBe(1);
    expect(mcnemarExact(0, 0).pValue).toBe(1);
  });

  it('stays finite and tiny for large counts (no 2^-n underflow)', () => {
    const r = mcnemarExact(1000, 1400);
    expect(r.pValue).toBeGreaterThan(0);
    expect(r.pValue).toBeLessThan(1e-8);
  });

  it('counts discordant pairs from predictions', () => {
    const labels = [0, 1, 2, 0, 1, 2];
    const a = [0, 1, 2, 1, 1, 0]; // right on 0,1,2,4
    const b = [0, 0, 2, 0, 2, 2]; // right on 0,2,3,5
    expect(mcnemarTest(labels, a, b)).toMatchObject({ b: 2, c: 2, pValue: 1 });
  });

  it('rejects bad counts and mismatched lengths', () => {
    expect(() => mcnemarExact(-1, 2)).toThrow(/b must be a count/);
    expect(() => mcnemarTest([0, 1], [0], [0, 1])).toThrow(/2 labels, 1 and 2 predictions/);
  });
});
