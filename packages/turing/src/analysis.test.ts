import { describe, expect, it } from 'vitest';
import { analyzeAnswers, groupStats } from './analysis.js';
import { answersCsv, turingTables } from './report.js';
import type { AnswerRecord } from './store/store.js';

let n = 0;
function answer(
  rater: string,
  imageId: string,
  source: 'real' | 'synthetic',
  verdict: 'real' | 'synthetic',
  confidence: number,
  diagnosis: string | null = null,
  className = 'MEL',
  generator: string | null = source === 'synthetic' ? 'acgan' : null,
): AnswerRecord {
  return {
    rater,
    raterId: rater === 'A' ? 1 : 2,
    position: n++,
    imageId,
    source,
    generator,
    className,
    verdict,
    confidence,
    diagnosis,
    answeredAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('groupStats', () => {
  it('matches hand-computed accuracy, sensitivity, specificity, AUC and diagnosis accuracy', () => {
    const s = groupStats('A', [
      answer('A', 'i1', 'synthetic', 'synthetic', 5, 'MEL'), // score 10, right, diagnosis right
      answer('A', 'i2', 'synthetic', 'real', 2), // score 4, wrong
      answer('A', 'i3', 'real', 'real', 4, 'NV'), // score 2, right, diagnosis wrong
      answer('A', 'i4', 'real', 'synthetic', 1), // score 6, wrong
    ]);
    expect([s.accuracy.k, s.accuracy.n]).toEqual([2, 4]);
    expect(s.pValue).toBe(1);
    expect([s.sensitivity.k, s.sensitivity.n, s.specificity.k, s.specificity.n]).toEqual([1, 2, 1, 2]);
    // Synthetic {10, 4} vs real {2, 6}: 10>2, 10>6, 4>2, 4<6 → 3 of 4 pairs.
    expect(s.auc).toBe(0.75);
    expect([s.diagnosisReal.k, s.diagnosisReal.n]).toEqual([0, 1]);
    expect([s.diagnosisSynthetic.k, s.diagnosisSynthetic.n]).toEqual([1, 1]);
  });
});

describe('analyzeAnswers', () => {
  const answers = [
    answer('A', 'x', 'real', 'real', 3, null, 'NV'),
    answer('A', 'y', 'synthetic', 'synthetic', 3, null, 'MEL', 'acgan'),
    answer('A', 'z', 'synthetic', 'synthetic', 3, null, 'MEL', 'cyclegan'),
    answer('B', 'x', 'real', 'real', 3, null, 'NV'),
    answer('B', 'y', 'synthetic', 'real', 3, null, 'MEL', 'acgan'),
  ];
  const a = analyzeAnswers(answers);

  it('groups per rater, class and generator (each generator with all real images)', () => {
    expect(a.answers).toBe(5);
    expect(a.byRater.map((g) => [g.group, g.answers, g.accuracy.k])).toEqual([
      ['A', 3, 3],
      ['B', 2, 1],
    ]);
    expect(a.byClass.map((g) => [g.group, g.answers])).toEqual([
      ['MEL', 3],
      ['NV', 2],
    ]);
    expect(a.byGenerator.map((g) => [g.group, g.answers, g.sensitivity.n, g.specificity.n])).toEqual([
      ['acgan', 4, 2, 2],
      ['cyclegan', 3, 1, 2],
    ]);
  });

  it('computes Fleiss’ κ over the images both raters answered', () => {
    // x: both real [2, 0]; y: one each [1, 1] → P̄ = ½; p = (3/4, 1/4), P̄e = 10/16; κ = (½ − 5/8)/(3/8).
    expect(a.agreement.items).toBe(2);
    expect(a.agreement.raters).toBe(2);
    expect(a.agreement.kappa).toBeCloseTo(-1 / 3, 14);
  });

  it('renders tables whose counts are the answers, and a CSV row per answer', () => {
    const [raters, classes, generators] = turingTables(a);
    expect(raters!.rows.map((r) => [r[0], r[1]])).toEqual([
      ['A', 3],
      ['B', 2],
      ['all raters', 5],
    ]);
    expect(raters!.rows[2]![2]).toBe('0.800 [0.376, 0.964]');
    expect(classes!.rows).toHaveLength(2);
    expect(generators!.rows).toHaveLength(2);
    const csv = answersCsv(answers).trim().split('\n');
    expect(csv[0]).toBe(
      'rater,position,image,source,generator,class,verdict,confidence,diagnosis,correct,answered_at',
    );
    expect(csv).toHaveLength(6);
    expect(csv[5]).toBe('B,5,y,synthetic,acgan,MEL,real,3,,0,2026-01-01T00:00:00.000Z');
  });
});
