import type { FidResult } from '../gan/fid.js';
import type { KidResult } from '../gan/kid.js';
import type { PrdcResult } from '../gan/prdc.js';
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
