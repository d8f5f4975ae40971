import { describe, expect, it } from 'vitest';
import { lineChartSvg } from './line-chart-svg.js';

describe('lineChartSvg', () => {
  it('draws each series as a path scaled into the plot area, skipping non-finite points', () => {
    const svg = lineChartSvg({
      title: 't',
      xLabel: 'x',
      series: [
        {
          name: 'a',
          points: [
            [0, 0],
            [10, 1],
            [5, Number.NaN],
          ],
        },
      ],
    });
    const d = /<path d="([^"]+)"/.exec(svg)![1]!;
    // 530×280 with margins 56/130/28/40: (0,0) at the plot's bottom-left, (10,1) at its top-right.
    expect(d).toBe('M56.0,240.0L400.0,28.0');
    const many = lineChartSvg({
      title: 't',
      xLabel: 'x',
      series: Array.from({ length: 9 }, (_, i) => ({
        name: `s${i}`,
        points: [
          [0, i],
          [1, i + 1],
        ] as [number, number][],
      })),
    });
    // The ninth series reuses the first colour, dashed (its line and its legend key).
    expect(many.match(/stroke-dasharray/g)).toHaveLength(2);
  });

  it('puts a log x axis on whole decades and draws markers with a legend entry each', () => {
    const svg = lineChartSvg({
      title: 'LR finder',
      xLabel: 'learning rate',
      logX: true,
      series: [
        {
          name: 'loss',
          points: [
            [0, 9], // not on a log axis: skipped
            [1e-6, 4],
            [1e-4, 3],
            [1e-2, 2],
          ],
        },
      ],
      markers: [{ x: 1e-4, y: 3, label: 'valley 1.0e-4' }],
    });
    // Plot area 344×212 from (56, 28): 1e-6 → x 56, 1e-4 → 228, 1e-2 → 400; y 4 → 28, 3 → 134, 2 → 240.
    expect(/<path d="([^"]+)"/.exec(svg)![1]).toBe('M56.0,28.0L228.0,134.0L400.0,240.0');
    expect(svg.match(/>1e-\d<\/text>/g)).toEqual([
      '>1e-6</text>',
      '>1e-5</text>',
      '>1e-4</text>',
      '>1e-3</text>',
      '>1e-2</text>',
    ]);
    expect(svg).toContain('<circle cx="228.0" cy="134.0" r="4" fill="#d62728"/>');
    expect(svg).toContain('>valley 1.0e-4</text>');
  });

  it('escapes text, so a series or title cannot break the SVG', () => {
    const svg = lineChartSvg({
      title: `A&B <i> "q" it's`,
      xLabel: 'x',
      series: [{ name: '<s>', points: [] }],
    });
    expect(svg).toContain('aria-label="A&amp;B &lt;i&gt; &quot;q&quot; it&#39;s"');
    expect(svg).toContain('>&lt;s&gt;</text>');
    expect(svg).not.toContain('<i>');
  });
});
