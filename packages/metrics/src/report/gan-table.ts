import type { FidResult } from '../gan/fid.js';
import type { KidResult } from '../gan/kid.js';
import type { PrdcResult } from '../gan/prdc.js';
import type { GanQuality } from '../gan/quality.js';
import type { MetricsTable, TableColumn, TableRow } from './table.js';

/** One row of GAN metrics: a generated set (or one class of it) against the real set. */
export interface GanMetricsEntry {
  /** E.g. "ACGAN→CycleGAN, all classes" or "MEL". */
  label: string;
  /** The feature extractor's name: every value belongs with it. */
  extractor: string;
  fid?: FidResult;
  kid?: KidResult;
  prdc?: PrdcResult;
}

/** The caveat every FID/KID from a non-Inception network needs. */
export function extractorNote(extractor: string): string {
  return (
    `Features: ${extractor}. FID and KID depend on the feature network: values from any network other than ` +
    'the TF Inception-V3 pool3 of the FID paper are not comparable to published (Inception) FIDs; compare ' +
    'only values computed with the same extractor.'
  );
}

/** FID, KID (mean and std over subsets), precision/recall and density/coverage, one row per entry. */
export function ganMetricsTable(
  entries: readonly GanMetricsEntry[],
  options: { title?: string } = {},
): MetricsTable {
  const has = (k: 'fid' | 'kid' | 'prdc') => entries.some((e) => e[k] !== undefined);
  const columns: TableColumn[] = [];
  if (has('fid')) columns.push({ key: 'fid', header: 'FID', digits: 2 });
  if (has('kid'))
    columns.push({ key: 'kid', header: 'KID', digits: 4 }, { key: 'kidStd', header: 'KID std', digits: 4 });
  if (has('prdc')) {
    columns.push(
      { key: 'precision', header: 'precision' },
      { key: 'recall', header: 'recall' },
      { key: 'density', header: 'density' },
      { key: 'coverage', header: 'coverage' },
    );
  }
  columns.push(
    { key: 'nReal', header: 'n real', digits: 0 },
    { key: 'nFake', header: 'n generated', digits: 0 },
  );
  const rows: TableRow[] = entries.map((e) => {
    const n = e.fid ?? e.kid ?? e.prdc;
    return {
      label: e.label,
      cells: {
        fid: e.fid ? { value: e.fid.fid } : null,
        kid: e.kid ? { value: e.kid.kid } : null,
        kidStd: e.kid ? { value: e.kid.std } : null,
        precision: e.prdc ? { value: e.prdc.precision } : null,
        recall: e.prdc ? { value: e.prdc.recall } : null,
        density: e.prdc ? { value: e.prdc.density } : null,
        coverage: e.prdc ? { value: e.prdc.coverage } : null,
        nReal: n ? { value: n.nReal } : null,
        nFake: n ? { value: n.nFake } : null,
      },
    };
  });
  const notes = [...new Set(entries.map((e) => e.extractor))].map(extractorNote);
  const kid = entries.find((e) => e.kid)?.kid;
  if (kid) {
    notes.push(
      `KID: unbiased MMD² with k(x, y) = (xᵀy/d + 1)³, mean and std over ${kid.subsets} subsets of ${kid.subsetSize}.`,
    );
  }
  const p = entries.find((e) => e.prdc)?.prdc;
  if (p) {
    notes.push(
      `Precision/recall: k = ${p.kPrecisionRecall} (Kynkäänniemi et al. 2019); density/coverage: k = ${p.kDensityCoverage} (Naeem et al. 2020).`,
    );
  }
  return { title: options.title ?? 'Image quality', rowHeader: 'set', columns, rows, notes };
}

/**
 * `ganQuality`'s per-class figures, one row per class: images on each side, within-class diversity
 * (generated ÷ real, and the two mean pairwise distances), and class fidelity when measured; the
 * overall figures and the definitions go in the notes.
 */
export function ganQualityTable(q: GanQuality, options: { title?: string } = {}): MetricsTable {
  const columns: TableColumn[] = [
    { key: 'nGenerated', header: 'n generated', digits: 0 },
    { key: 'nReal', header: 'n real', digits: 0 },
    { key: 'diversity', header: 'diversity', digits: 2 },
    { key: 'spreadGenerated', header: 'spread generated', digits: 2 },
    { key: 'spreadReal', header: 'spread real', digits: 2 },
  ];
  if (q.fidelity) {
    columns.push(
      { key: 'fidelity', header: 'fidelity generated', digits: 2 },
      { key: 'fidelityReal', header: 'fidelity real', digits: 2 },
    );
  }
  const cell = (v: number | null | undefined) => (v === null || v === undefined ? null : { value: v });
  const rows: TableRow[] = q.diversity.perClass.map((d, c) => {
    const f = q.fidelity?.perClass[c];
    return {
      label: d.class,
      cells: {
        nGenerated: { value: d.nGenerated },
        nReal: { value: d.nReal },
        diversity: cell(d.ratio),
        spreadGenerated: cell(d.generated),
        spreadReal: cell(d.real),
        fidelity: cell(f?.generated),
        fidelityReal: cell(f?.real),
      },
    };
  });
  const fmt = (v: number | null | undefined, digits = 2) =>
    v === null || v === undefined ? '—' : v.toFixed(digits);
  const notes = [
    `FID ${fmt(q.fid)}, KID ${q.kid.mean.toFixed(4)} ± ${q.kid.std.toFixed(4)} (${q.counts.generated} generated vs ${q.counts.real} real images, all classes).`,
    `Diversity: mean ${fmt(q.diversity.mean)}, worst ${q.diversity.worst ? `${q.diversity.worst.class} ${fmt(q.diversity.worst.value)}` : '—'}. Spread = mean pairwise Euclidean distance between the features of the images of a class; diversity = spread generated ÷ spread real (1: as varied as the real class; < 0.5 suggests mode collapse).`,
  ];
  if (Math.min(q.counts.generated, q.counts.real) < q.dim) {
    notes.push(
      `FID is biased upwards when a set has fewer images than feature dimensions (${Math.min(q.counts.generated, q.counts.real)} < ${q.dim}): even two halves of one real set score far above 0. Compare FIDs at equal image counts only; KID is unbiased (≈ 0 for two samples of one distribution).`,
    );
  }
  if (q.fidelity) {
    notes.push(
      `Fidelity: share of a class's images that the classifier${q.fidelity.classifier ? ` ${q.fidelity.classifier}` : ''} assigns to that class; balanced (mean over classes): generated ${fmt(q.fidelity.balanced)}, real ${fmt(q.fidelity.realBalanced)}.`,
    );
  } else {
    notes.push('Fidelity: not measured (no classifier given).');
  }
  notes.push(extractorNote(q.extractor));
  return { title: options.title ?? 'GAN quality per class', rowHeader: 'class', columns, rows, notes };
}
