import { escapeHtml } from './escape-html.js';

/** A line chart as data: what `lineChartSvg` draws. */
export interface LineChart {
  title: string;
  xLabel: string;
  yLabel?: string;
  series: { name: string; points: [number, number][] }[];
  /** Log-scale x axis (learning rates); points with x ≤ 0 are skipped. */
  logX?: boolean;
  /** Highlighted points, each with a legend entry (e.g. the LR finder's suggestions). */
  markers?: { x: number; y: number; label: string }[];
}

export interface LineChartSize {
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const MARKER_COLORS = ['#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(3)));
}

/**
 * A self-contained SVG line chart (no fonts or scripts fetched), for reports opened from disk and
 * for plots a command writes beside its results. Text is SVG text, so no bitmap font is needed.
 */
export function lineChartSvg(chart: LineChart, size: LineChartSize = {}): string {
  const width = size.width ?? 530;
  const height = size.height ?? 280;
  const m = { left: 56, right: 130, top: 28, bottom: 40 };
  // On a log axis every position is log10(x); ticks sit on whole decades.
  const tx = chart.logX ? Math.log10 : (x: number) => x;
  const usable = ([x, y]: readonly [number, number]) =>
    Number.isFinite(x) && Number.isFinite(y) && (!chart.logX || x > 0);
  const pts = chart.series.flatMap((s) => s.points).filter(usable);
  const xs = pts.map((p) => tx(p[0]));
  const ys = pts.map((p) => p[1]);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const w = width - m.left - m.right;
  const h = height - m.top - m.bottom;
  const sx = (x: number) => m.left + (x1 === x0 ? w / 2 : ((tx(x) - x0) / (x1 - x0)) * w);
  const sy = (y: number) => m.top + h - ((y - y0) / (y1 - y0)) * h;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img" aria-label="${escapeHtml(chart.title)}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${m.left}" y="16" font-size="13" font-weight="bold">${escapeHtml(chart.title)}</text>`,
  ];
  for (const t of niceTicks(y0, y1)) {
    parts.push(`<line x1="${m.left}" x2="${m.left + w}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${m.left - 6}" y="${sy(t) + 4}" text-anchor="end">${fmt(t)}</text>`);
  }
  const xTicks = chart.logX
    ? Array.from({ length: Math.floor(x1) - Math.ceil(x0) + 1 }, (_, i) => 10 ** (Math.ceil(x0) + i))
    : niceTicks(x0, x1);
  for (const t of xTicks) {
    const label = chart.logX ? `1e${Math.round(Math.log10(t))}` : fmt(t);
    parts.push(`<text x="${sx(t)}" y="${m.top + h + 16}" text-anchor="middle">${label}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  parts.push(
    `<text x="${m.left + w / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(chart.xLabel)}</text>`,
  );
  if (chart.yLabel) {
    parts.push(
      `<text transform="translate(14 ${m.top + h / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(chart.yLabel)}</text>`,
    );
  }
  const legend = (i: number) => m.top + 12 + i * 16;
  chart.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const d = s.points
      .filter(usable)
      .map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
      .join('');
    // Past eight series the colours repeat, so the repeats are dashed.
    const dash = i >= COLORS.length ? ' stroke-dasharray="5 3"' : '';
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"${dash}/>`);
    const ly = legend(i);
    parts.push(
      `<line x1="${m.left + w + 10}" x2="${m.left + w + 26}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${dash}/>`,
    );
    parts.push(`<text x="${m.left + w + 30}" y="${ly}">${escapeHtml(s.name)}</text>`);
  });
  (chart.markers ?? [])
    .filter((p) => usable([p.x, p.y]))
    .forEach((p, i) => {
      const color = MARKER_COLORS[i % MARKER_COLORS.length]!;
      const ly = legend(chart.series.length + i);
      parts.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="4" fill="${color}"/>`);
      parts.push(`<circle cx="${m.left + w + 18}" cy="${ly - 4}" r="4" fill="${color}"/>`);
      parts.push(`<text x="${m.left + w + 30}" y="${ly}">${escapeHtml(p.label)}</text>`);
    });
  parts.push('</svg>');
  return parts.join('\n');
}
