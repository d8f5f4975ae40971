import { describe, expect, it } from 'vitest';
import { decodePng } from '../test-utils/png-decode.js';
import { lrFinderLoop } from '../train/lr-find.js';
import { lrFinderPng } from '../train/lr-find-report.js';
import { linePlotPng } from './line-plot.js';
import { encodePng } from './png.js';

describe('PNG plots', () => {
  it('encodes RGB pixels that decode back unchanged', () => {
    const rgb = Uint8Array.from({ length: 5 * 3 * 3 }, (_, i) => (i * 37) % 256);
    const png = encodePng(rgb, 5, 3);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const back = decodePng(png);
    expect(back).toMatchObject({ width: 5, height: 3 });
    expect(Array.from(back.rgb)).toEqual(Array.from(rgb));
  });

  it('draws the curve inside the axes: a falling line puts ink high on the left and low on the right', () => {
    const xs = [1e-6, 1e-4, 1e-2, 1];
    const { width, height, rgb } = decodePng(
      linePlotPng(xs, [4, 3, 2, 1], { logX: true, width: 200, height: 150 }),
    );
    const isCurve = (x: number, y: number) => {
      const i = (y * width + x) * 3;
      return rgb[i] === 31 && rgb[i + 1] === 119 && rgb[i + 2] === 180;
    };
    const rowsWithInk = (x: number) =>
      Array.from({ length: height }, (_, y) => y).filter((y) => isCurve(x, y));
    const leftY = rowsWithInk(75)[0]!;
    const rightY = rowsWithInk(175)[0]!;
    expect(leftY).toBeLessThan(rightY);
  });

  it('renders an LR finder result with its suggestions', async () => {
    const r = await lrFinderLoop(async (lr) =>
      lr < 1e-2 ? 3 - (Math.log10(lr) + 7) / 10 : 2.5 + 1e3 * (lr - 1e-2),
    );
    const png = decodePng(lrFinderPng(r));
    expect(png.width).toBe(640);
    // Red (valley marker) ink is present.
    let red = 0;
    for (let i = 0; i < png.rgb.length; i += 3) if (png.rgb[i] === 214 && png.rgb[i + 1] === 39) red++;
    expect(red).toBeGreaterThan(20);
  });
});
