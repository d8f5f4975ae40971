import { formatEstimate } from '@skingan/metrics';
import type { GroupStats, TuringAnalysis } from './analysis.js';
import type { Proportion } from './stats/proportions.js';
import type { AnswerRecord } from './store/store.js';

/** A table as the skingan report renders it (HTML and Markdown); cells are preformatted. */
export interface ReportTable {
  caption?: string;
  columns: string[];
  rows: (string | number | null)[][];
  notes?: string[];
}

const COLUMNS = [
  'answers',
  'accuracy [95% CI]',
  'p vs ½',
  'sensitivity',
  'specificity',
  'AUC',
  'diagnosis: real',
  'diagnosis: synthetic',
];

/** The study's tables: pooled and per rater, per class, per generator. */
export function turingTables(a: TuringAnalysis): ReportTable[] {
  const table = (caption: string, first: string, groups: GroupStats[], notes: string[] = []) => ({
    caption,
    columns: [first, ...COLUMNS],
    rows: groups.map(statsRow),
    notes,
  });
  const k = a.agreement;
  return [
    table(
      'Telling real from synthetic: per rater and pooled',
      'rater',
      [...a.byRater, a.pooled],
      [
        'accuracy: answers naming the true source, with a 95% Wilson interval; p: exact two-sided binomial test against ½ (chance).',
        'sensitivity: synthetic images called synthetic; specificity: real images called real.',
        'AUC: ROC AUC of the 10-point scale from "real, confidence 5" to "synthetic, confidence 5" (0.5 = chance).',
        'diagnosis: correct diagnoses k/n among the real (synthetic) images given one.',
        `Inter-rater agreement (Fleiss' κ, real vs synthetic): ${num(k.kappa)} over ${k.items} images answered by all ${k.raters} raters.`,
      ],
    ),
    table('Per class (all raters)', 'class', a.byClass),
    table('Per generator (its synthetic images and all real images; all raters)', 'generator', a.byGenerator),
  ];
}

function statsRow(g: GroupStats): (string | number | null)[] {
  return [
    g.group,
    g.answers,
    formatEstimate(g.accuracy),
    formatP(g.pValue),
    formatEstimate(g.sensitivity),
    formatEstimate(g.specificity),
    Number.isNaN(g.auc) ? null : g.auc,
    fraction(g.diagnosisReal),
    fraction(g.diagnosisSynthetic),
  ];
}

function fraction(p: Proportion): string | null {
  return p.n === 0 ? null : `${p.k}/${p.n} (${p.value.toFixed(2)})`;
}

function num(x: number): string {
  return Number.isNaN(x) ? 'undefined' : x.toFixed(3);
}

/** p-values as reviewers read them: three significant digits, "< 0.001" below that. */
export function formatP(p: number): string {
  return p < 0.001 ? '< 0.001' : p.toPrecision(3);
}

/** Every answer with the key, one CSV row each (RFC 4180 quoting). */
export function answersCsv(answers: readonly AnswerRecord[]): string {
  const header =
    'rater,position,image,source,generator,class,verdict,confidence,diagnosis,correct,answered_at';
  const rows = answers.map((a) => [
    a.rater,
    a.position + 1,
    a.imageId,
    a.source,
    a.generator ?? '',
    a.className,
    a.verdict,
    a.confidence,
    a.diagnosis ?? '',
    a.verdict === a.source ? 1 : 0,
    a.answeredAt,
  ]);
  return `${[header, ...rows.map((r) => r.map((v) => csvField(String(v))).join(','))].join('\n')}\n`;
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The analysis as JSON-ready data (NaN becomes null). */
export function analysisToJson(a: TuringAnalysis): unknown {
  return JSON.parse(JSON.stringify(a, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}
