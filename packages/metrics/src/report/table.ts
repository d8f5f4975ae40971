import type { ConfidenceInterval } from '../stats/bootstrap.js';

/** A value with an optional interval, as a table cell shows it. NaN means undefined. */
export interface Estimate {
  value: number;
  lower?: number;
  upper?: number;
}

export interface TableColumn {
  key: string;
  header: string;
  /** Columns with the same group sit under one heading (e.g. a class, or an α). */
  group?: string;
  /** Decimals in Markdown for this column (default: the table's). */
  digits?: number;
}

export interface TableRow {
  label: string;
  /** By column key; null or missing for an empty cell. */
  cells: Record<string, Estimate | null | undefined>;
}

/** A results table as plain data: rendered to Markdown, CSV or JSON by the functions below. */
export interface MetricsTable {
  title: string;
  /** Heading of the row-label column. */
  rowHeader: string;
  columns: TableColumn[];
  rows: TableRow[];
  /** Printed under the table (how values were computed, what is undefined, caveats). */
  notes: string[];
}

export interface RenderOptions {
  /** Decimals in Markdown (default 3). */
  digits?: number;
}

const EMPTY = '—';

/** A value with a bootstrap interval, when there is one. */
export function estimateWith(value: number, ci?: ConfidenceInterval): Estimate {
  return ci ? { value, lower: ci.lower, upper: ci.upper } : { value };
}

/** GitHub-flavoured Markdown: a heading, a table whose headers carry their group, then notes. */
export function renderMarkdown(table: MetricsTable, options: RenderOptions = {}): string {
  const digits = options.digits ?? 3;
  const header = [table.rowHeader, ...table.columns.map(columnTitle)];
  const lines = [
    `### ${table.title}`,
    '',
    row(header),
    row(header.map((_, i) => (i === 0 ? '---' : '---:'))),
  ];
  for (const r of table.rows) {
    lines.push(
      row([
        escapePipes(r.label),
        ...table.columns.map((c) => formatEstimate(r.cells[c.key], c.digits ?? digits)),
      ]),
    );
  }
  if (table.notes.length) lines.push('', ...table.notes.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

/**
 * CSV (RFC 4180 quoting), full precision: one column per table column, plus `<header> lower` and
 * `<header> upper` after any column that has an interval in some row. Undefined values are empty.
 */
export function renderCsv(table: MetricsTable): string {
  const withInterval = new Set(
    table.columns
      .filter((c) => table.rows.some((r) => r.cells[c.key]?.lower !== undefined))
      .map((c) => c.key),
  );
  const header = [table.rowHeader];
  for (const c of table.columns) {
    const t = columnTitle(c);
    header.push(t);
    if (withInterval.has(c.key)) header.push(`${t} lower`, `${t} upper`);
  }
  const lines = [header.map(csvField).join(',')];
  for (const r of table.rows) {
    const fields = [r.label];
    for (const c of table.columns) {
      const e = r.cells[c.key];
      fields.push(csvNumber(e?.value));
      if (withInterval.has(c.key)) fields.push(csvNumber(e?.lower), csvNumber(e?.upper));
    }
    lines.push(fields.map(csvField).join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The table as JSON-ready data (NaN and missing cells become null). */
export function tableToJson(table: MetricsTable): unknown {
  return {
    title: table.title,
    rowHeader: table.rowHeader,
    columns: table.columns,
    rows: table.rows.map((r) => ({
      label: r.label,
      cells: Object.fromEntries(
        table.columns.map((c) => {
          const e = r.cells[c.key];
          return [
            c.key,
            e ? { value: jsonNumber(e.value), lower: jsonNumber(e.lower), upper: jsonNumber(e.upper) } : null,
          ];
        }),
      ),
    })),
    notes: table.notes,
  };
}

/** "0.812 [0.781, 0.843]", "0.812", or "—" when undefined. */
export function formatEstimate(e: Estimate | null | undefined, digits = 3): string {
  if (!e || Number.isNaN(e.value)) return EMPTY;
  const v = e.value.toFixed(digits);
  if (e.lower === undefined || e.upper === undefined) return v;
  const lo = Number.isNaN(e.lower) ? EMPTY : e.lower.toFixed(digits);
  const hi = Number.isNaN(e.upper) ? EMPTY : e.upper.toFixed(digits);
  return `${v} [${lo}, ${hi}]`;
}

function columnTitle(c: TableColumn): string {
  return c.group ? `${c.group} ${c.header}` : c.header;
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function escapePipes(s: string): string {
  return s.replace(/\|/g, '\\|');
}

function csvNumber(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? '' : String(v);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function jsonNumber(v: number | undefined): number | null {
  return v === undefined || !Number.isFinite(v) ? null : v;
}
