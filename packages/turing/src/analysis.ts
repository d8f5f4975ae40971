import { rocAuc } from '@skingan/metrics';
import { fleissKappa } from './stats/fleiss.js';
import { binomialTestHalf, type Proportion, wilson } from './stats/proportions.js';
import { syntheticScore } from './stats/rating-scale.js';
import type { AnswerRecord } from './store/store.js';

/** The statistics of one group of answers (a rater, a class, a generator, or all). */
export interface GroupStats {
  group: string;
  answers: number;
  /** Share of answers that name the true source, with a 95% Wilson interval. */
  accuracy: Proportion;
  /** Exact two-sided binomial test of the accuracy against ½ (chance). */
  pValue: number;
  /** Synthetic images called synthetic (synthetic is the positive class). */
  sensitivity: Proportion;
  /** Real images called real. */
  specificity: Proportion;
  /** ROC AUC of the 10-point real↔synthetic confidence scale; NaN without both sources. */
  auc: number;
  /** Diagnoses equal to the image's class, among the real / synthetic images given a diagnosis. */
  diagnosisReal: Proportion;
  diagnosisSynthetic: Proportion;
}

export interface Agreement {
  /** Fleiss' κ of the real/synthetic verdicts; NaN when undefined. */
  kappa: number;
  /** Images answered by every rater below (κ needs the same raters per image). */
  items: number;
  raters: number;
}

export interface TuringAnalysis {
  answers: number;
  pooled: GroupStats;
  byRater: GroupStats[];
  byClass: GroupStats[];
  /** Each generator's synthetic images together with all real images. */
  byGenerator: GroupStats[];
  agreement: Agreement;
}

/** Every statistic of the study report, from the answers joined with the key. */
export function analyzeAnswers(answers: readonly AnswerRecord[]): TuringAnalysis {
  const groupBy = (key: (a: AnswerRecord) => string | null) => {
    const m = new Map<string, AnswerRecord[]>();
    for (const a of answers) {
      const k = key(a);
      if (k === null) continue;
      m.set(k, [...(m.get(k) ?? []), a]);
    }
    return [...m.entries()].map(([g, list]) => groupStats(g, list));
  };
  const real = answers.filter((a) => a.source === 'real');
  const generators = [
    ...new Set(answers.map((a) => a.generator).filter((g): g is string => g !== null)),
  ].sort();
  return {
    answers: answers.length,
    pooled: groupStats('all raters', answers),
    byRater: groupBy((a) => a.rater),
    byClass: groupBy((a) => a.className).sort((a, b) => a.group.localeCompare(b.group)),
    byGenerator: generators.map((g) => groupStats(g, [...real, ...answers.filter((a) => a.generator === g)])),
    agreement: agreement(answers),
  };
}

export function groupStats(group: string, answers: readonly AnswerRecord[]): GroupStats {
  const correct = answers.filter((a) => a.verdict === a.source).length;
  const synth = answers.filter((a) => a.source === 'synthetic');
  const real = answers.filter((a) => a.source === 'real');
  /** The share of `list` for which `ok` holds. */
  const share = (list: readonly AnswerRecord[], ok: (a: AnswerRecord) => boolean) =>
    wilson(list.filter(ok).length, list.length);
  const diagnosed = (list: readonly AnswerRecord[]) => list.filter((a) => a.diagnosis !== null);
  const rightDiagnosis = (a: AnswerRecord) => a.diagnosis === a.className;
  return {
    group,
    answers: answers.length,
    accuracy: wilson(correct, answers.length),
    pValue: binomialTestHalf(correct, answers.length),
    sensitivity: share(synth, (a) => a.verdict === 'synthetic'),
    specificity: share(real, (a) => a.verdict === 'real'),
    auc: rocAuc(
      answers.map((a) => syntheticScore(a.verdict, a.confidence)),
      answers.map((a) => a.source === 'synthetic'),
    ),
    diagnosisReal: share(diagnosed(real), rightDiagnosis),
    diagnosisSynthetic: share(diagnosed(synth), rightDiagnosis),
  };
}

/** Fleiss' κ over the images that every rater (with at least one answer) has answered. */
function agreement(answers: readonly AnswerRecord[]): Agreement {
  const raters = new Set(answers.map((a) => a.raterId));
  const byImage = new Map<string, AnswerRecord[]>();
  for (const a of answers) byImage.set(a.imageId, [...(byImage.get(a.imageId) ?? []), a]);
  const rows: number[][] = [];
  for (const list of byImage.values()) {
    if (list.length !== raters.size) continue;
    const s = list.filter((a) => a.verdict === 'synthetic').length;
    rows.push([list.length - s, s]);
  }
  return {
    kappa: raters.size >= 2 && rows.length > 0 ? fleissKappa(rows) : Number.NaN,
    items: rows.length,
    raters: raters.size,
  };
}
