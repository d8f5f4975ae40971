import type { LineChart } from '@skingan/metrics';

export type { LineChart };

/** A report as data: experiments and runs build one, renderers turn it into HTML or Markdown. */
export interface Report {
  title: string;
  /** One line under the title (data, preset, backend, date). */
  subtitle?: string;
  sections: Section[];
}

export interface Section {
  heading: string;
  /** Plain-text paragraphs (no markup). */
  text?: string[];
  tables?: Table[];
  charts?: LineChart[];
  /** Images (PNG files); rendered inline in HTML as data URIs so the page needs nothing else. */
  images?: Figure[];
  /** Key/value pairs shown as a definition list (e.g. the resolved config). */
  facts?: [string, string][];
}

export interface Table {
  caption?: string;
  columns: string[];
  rows: (string | number | null)[][];
  /** Printed under the table: how values were computed, caveats. */
  notes?: string[];
}

export interface Figure {
  path: string;
  caption: string;
}
