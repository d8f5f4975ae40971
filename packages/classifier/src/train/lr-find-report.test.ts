import { describe, expect, it } from 'vitest';
import { lrFinderLoop } from './lr-find.js';
import { lrFinderSvg } from './lr-find-report.js';

describe('LR finder plot', () => {
  it('draws the smoothed curve without the last 5 points, on a log axis, with the suggestions marked', async () => {
    const r = await lrFinderLoop(async (lr) =>
      lr < 1e-2 ? 3 - (Math.log10(lr) + 7) / 10 : 2.5 + 1e3 * (lr - 1e-2),
    );
    const svg = lrFinderSvg(r);
    const d = /<path d="([^"]+)"/.exec(svg)![1]!;
    expect(d.split(/[ML]/).filter(Boolean)).toHaveLength(r.lrs.length - 5);
    expect(svg).toContain('>1e-7</text>');
    const valley = r.points.valley!;
    expect(svg).toContain(`>valley ${valley[0].toExponential(1)}</text>`);
    expect(svg).toContain(`>steep ${r.points.steep![0].toExponential(1)}</text>`);
    expect(svg.match(/<circle /g)).toHaveLength(4); // two on the curve, two in the legend
  });
});
