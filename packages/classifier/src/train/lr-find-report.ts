import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '@skingan/core';
import { lineChartSvg } from '@skingan/metrics';
import type { LrFinderResult } from './lr-find.js';

/** The LR finder's curve as SVG: smoothed loss against learning rate (log scale), suggestions marked. */
export function lrFinderSvg(r: LrFinderResult): string {
  // fastai's plot_lr_find drops the last 5 points (skip_end=5), where the loss explodes.
  const n = Math.max(2, r.lrs.length - 5);
  const markers = (['valley', 'steep'] as const).flatMap((k) => {
    const p = r.points[k];
    return p ? [{ x: p[0], y: p[1], label: `${k} ${p[0].toExponential(1)}` }] : [];
  });
  return lineChartSvg(
    {
      title: `LR finder: ${r.lrs.length} steps, ${r.stopped}`,
      xLabel: 'learning rate',
      yLabel: 'loss (smoothed)',
      logX: true,
      series: [{ name: 'loss', points: r.lrs.slice(0, n).map((lr, i) => [lr, r.smoothed[i]!]) }],
      markers,
    },
    { width: 640, height: 400 },
  );
}

/** Writes `lr-find.json` (the whole result) and `lr-find.svg` into `dir`; returns their paths. */
export async function writeLrFinderReport(
  dir: string,
  r: LrFinderResult,
  extra: Record<string, unknown> = {},
): Promise<{ json: string; svg: string }> {
  const json = join(dir, 'lr-find.json');
  const svg = join(dir, 'lr-find.svg');
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
  await writeFileAtomic(svg, lrFinderSvg(r));
  return { json, svg };
}
