import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderHtml, renderMarkdown } from './render.js';

// 1×1 transparent PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGBgAAAABQABpfZFQAAAAABJRU5ErkJggg==',
  'base64',
);

describe('report rendering', () => {
  it('renders tables, facts, charts and embedded images into one offline HTML page and Markdown', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-report-'));
    const img = join(dir, 'grid.png');
    await fs.writeFile(img, PNG);
    const report = {
      title: 'Run <1>',
      sections: [
        {
          heading: 'Results',
          facts: [['seed', '7']] as [string, string][],
          tables: [
            {
              caption: 'Table 6.2',
              columns: ['set', 'acc'],
              rows: [
                ['ISIC-0', 0.51234],
                ['acgan-250', null],
              ],
            },
          ],
          charts: [
            {
              title: 'losses',
              xLabel: 'step',
              series: [
                {
                  name: 'D',
                  points: [
                    [0, 1],
                    [1, 0.5],
                  ] as [number, number][],
                },
              ],
            },
          ],
          images: [{ path: img, caption: 'MEL samples' }],
        },
      ],
    };
    const html = await renderHtml(report);
    expect(html).toContain('<title>Run &lt;1&gt;</title>');
    expect(html).toContain('<td>0.512</td>');
    expect(html).toContain('<td>–</td>');
    expect(html).toContain(`src="data:image/png;base64,${PNG.toString('base64')}"`);
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/(src|href)="https?:/);
    const md = await renderMarkdown(report, join(dir, 'report.md'), join(dir, 'charts'));
    expect(md).toContain('| ISIC-0 | 0.512 |');
    expect(md).toContain('![MEL samples](grid.png)');
    expect(md).toContain('![losses](charts/chart-1.svg)');
    expect(await fs.readFile(join(dir, 'charts', 'chart-1.svg'), 'utf8')).toContain('<path d="M');
    await fs.rm(dir, { recursive: true });
  });
});
