import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '@skingan/core';
import { linePlotPng } from '../plot/line-plot.js';
import type { LrFinderResult } from './lr-find.js';

/** The LR finder's curve as a PNG: smoothed loss against learning rate (log scale), suggestions marked. */
export function lrFinderPng(r: LrFinderResult): Uint8Array {
  // fastai's plot_lr_find drops the last 5 points (skip_end=5), where the loss explodes.
  const n = Math.max(2, r.lrs.length - 5);
  const markers: { x: number; y: number; label: string; color: [number, number, number] }[] = [];
  if (r.points.valley)
    markers.push({
      x: r.points.valley[0],
      y: r.points.valley[1],
      label: `valley ${r.points.valley[0].toExponential(1)}`,
      color: [214, 39, 40],
    });
  if (r.points.steep)
    markers.push({
      x: r.points.steep[0],
      y: r.points.steep[1],
      label: `steep ${r.points.steep[0].toExponential(1)}`,
      color: [44, 160, 44],
    });
  return linePlotPng(r.lrs.slice(0, n), r.smoothed.slice(0, n), {
    logX: true,
    title: `LR finder: ${r.lrs.length} steps, ${r.stopped}`,
    xLabel: 'learning rate',
    yLabel: 'loss',
    markers,
  });
}

/** Writes `lr-find.json` (the whole result) and `lr-find.png` into `dir`; returns their paths. */
export async function writeLrFinderReport(
  dir: string,
  r: LrFinderResult,
  extra: Record<string, unknown> = {},
): Promise<{ json: string; png: string }> {
  const json = join(dir, 'lr-find.json');
  const png = join(dir, 'lr-find.png');
  await writeJsonAtomic(json, {
    ...extra,
    suggestion: r.suggestion,
    stopped: r.stopped,
    steps: r.lrs.length,
    options: r.options,
    lrs: r.lrs,
    losses: r.losses,
    smoothed: r.smoothed,
    points: r.points,
  });
  await writeFileAtomic(png, lrFinderPng(r));
  return { json, png };
}
