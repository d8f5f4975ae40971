import { GLYPH_H, GLYPH_W, glyph } from './font.js';
import { encodePng } from './png.js';

type Rgb = readonly [number, number, number];

export interface LinePlotOptions {
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Log-scale x axis (learning rates). */
  logX?: boolean;
  /** Highlighted points with a label each (suggested learning rates). */
  markers?: { x: number; y: number; label: string; color?: Rgb }[];
}

/**
 * A line chart rendered to PNG bytes with nothing but Node: a raster canvas, Bresenham lines and a
 * 3×5 pixel font. Enough for the LR finder's curve; not a plotting library.
 */
export function linePlotPng(
  xs: readonly number[],
  ys: readonly number[],
  o: LinePlotOptions = {},
): Uint8Array {
  const W = o.width ?? 640;
  const H = o.height ?? 420;
  const px = new Uint8Array(W * H * 3).fill(255);
  const set = (x: number, y: number, c: Rgb) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= W || yi >= H) return;
    px.set(c, (yi * W + xi) * 3);
  };
  const line = (x0: number, y0: number, x1: number, y1: number, c: Rgb, thick = 1) => {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let dx = 0; dx < thick; dx++) for (let dy = 0; dy < thick; dy++) set(x + dx, y + dy, c);
    }
  };
  const text = (s: string, x: number, y: number, c: Rgb = [40, 40, 40], scale = 2, vertical = false) => {
    [...s].forEach((ch, i) => {
      for (const [gx, gy] of glyph(ch)) {
        for (let a = 0; a < scale; a++) {
          for (let b = 0; b < scale; b++) {
            if (vertical) set(x + gy * scale + a, y - (i * (GLYPH_W + 1) + gx) * scale - b, c);
            else set(x + (i * (GLYPH_W + 1) + gx) * scale + a, y + gy * scale + b, c);
          }
        }
      }
    });
  };
  const textWidth = (s: string, scale = 2) => s.length * (GLYPH_W + 1) * scale;

  const left = 70;
  const right = W - 20;
  const top = 40;
  const bottom = H - 50;
  const pts = xs
    .map((x, i) => [x, ys[i]!] as const)
    .filter(([x, y]) => Number.isFinite(y) && (!o.logX || x > 0));
  const tx = (x: number) => (o.logX ? Math.log10(x) : x);
  const xMin = Math.min(...pts.map(([x]) => tx(x)));
  const xMax = Math.max(...pts.map(([x]) => tx(x)));
  const yMin = Math.min(...pts.map(([, y]) => y));
  const yMax = Math.max(...pts.map(([, y]) => y));
  const ySpan = yMax - yMin || 1;
  const xSpan = xMax - xMin || 1;
  const sx = (x: number) => left + ((tx(x) - xMin) / xSpan) * (right - left);
  const sy = (y: number) => bottom - ((y - yMin) / ySpan) * (bottom - top);

  // Axes, ticks and grid.
  const axis: Rgb = [60, 60, 60];
  const grid: Rgb = [225, 225, 225];
  if (o.logX) {
    for (let e = Math.ceil(xMin); e <= Math.floor(xMax); e++) {
      const x = left + ((e - xMin) / xSpan) * (right - left);
      line(x, top, x, bottom, grid);
      const label = `1E${e}`;
      text(label, x - textWidth(label) / 2, bottom + 8);
    }
  }
  for (let i = 0; i <= 4; i++) {
    const v = yMin + (ySpan * i) / 4;
    const y = sy(v);
    line(left, y, right, y, grid);
    const label = v.toPrecision(3);
    text(label, left - 6 - textWidth(label), y - GLYPH_H);
  }
  line(left, top, left, bottom, axis);
  line(left, bottom, right, bottom, axis);

  // The curve.
  for (let i = 1; i < pts.length; i++) {
    line(sx(pts[i - 1]![0]), sy(pts[i - 1]![1]), sx(pts[i]![0]), sy(pts[i]![1]), [31, 119, 180], 2);
  }
  // Markers with labels stacked in the top-right corner.
  (o.markers ?? []).forEach((m, i) => {
    const c = m.color ?? ([214, 39, 40] as Rgb);
    const x = sx(m.x);
    const y = sy(m.y);
    for (let dx = -4; dx <= 4; dx++)
      for (let dy = -4; dy <= 4; dy++) if (dx * dx + dy * dy <= 16) set(x + dx, y + dy, c);
    const label = m.label.toUpperCase();
    text(label, right - textWidth(label), top + 4 + i * 14, c);
  });
  if (o.title) text(o.title.toUpperCase(), left, 12, [20, 20, 20]);
  if (o.xLabel) text(o.xLabel.toUpperCase(), (left + right) / 2 - textWidth(o.xLabel) / 2, H - 22);
  if (o.yLabel)
    text(o.yLabel.toUpperCase(), 8, (top + bottom) / 2 + textWidth(o.yLabel) / 2, [40, 40, 40], 2, true);
  return encodePng(px, W, H);
}
