import { promises as fs } from 'node:fs';
import { dirname, relative } from 'node:path';
import { writeFileAtomic } from '@skingan/core';
import { escapeHtml, lineChartSvg } from '@skingan/metrics';
import type { Report, Table } from './model.js';

function cell(v: string | number | null): string {
  if (v === null) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(3);
  return v;
}

function tableHtml(t: Table): string {
  const head = t.columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const body = t.rows
    .map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(cell(v))}</td>`).join('')}</tr>`)
    .join('\n');
  const caption = t.caption ? `<caption>${escapeHtml(t.caption)}</caption>` : '';
  const notes = (t.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('');
  return `<table>${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${notes}`;
}

function tableMd(t: Table): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const out = [line(t.columns), line(t.columns.map(() => '---')), ...t.rows.map((r) => line(r.map(cell)))];
  const notes = (t.notes ?? []).map((n) => `\n- ${n}`).join('');
  return (t.caption ? `*${t.caption}*\n\n` : '') + out.join('\n') + (notes ? `\n${notes}` : '');
}

const CSS = `body{font-family:system-ui,sans-serif;max-width:1100px;margin:2rem auto;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem}.sub{color:#666;margin-top:0}table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th:first-child,td:first-child{text-align:left}
caption{text-align:left;font-weight:bold;padding:.3rem 0}figure{display:inline-block;margin:.5rem 1rem .5rem 0;vertical-align:top}
figure img{image-rendering:pixelated;max-width:100%;border:1px solid #ddd}figcaption{font-size:.85rem;color:#555}
div.scroll{overflow-x:auto}.chart{display:inline-block;margin-right:.5rem}p.note{font-size:.8rem;color:#555;margin:.1rem 0}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:bold}dd{margin:0;font-family:monospace}`;

/** One self-contained HTML page: images are data URIs, charts inline SVG; it opens from disk offline. */
export async function renderHtml(report: Report): Promise<string> {
  const parts = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeHtml(report.title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${escapeHtml(report.title)}</h1>`,
  ];
  if (report.subtitle) parts.push(`<p class="sub">${escapeHtml(report.subtitle)}</p>`);
  for (const s of report.sections) {
    parts.push(`<section><h2>${escapeHtml(s.heading)}</h2>`);
    for (const p of s.text ?? []) parts.push(`<p>${escapeHtml(p)}</p>`);
    if (s.facts?.length) {
      parts.push(
        `<dl>${s.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`,
      );
    }
    for (const t of s.tables ?? []) parts.push(`<div class="scroll">${tableHtml(t)}</div>`);
    for (const c of s.charts ?? []) parts.push(`<div class="chart">${lineChartSvg(c)}</div>`);
    for (const img of s.images ?? []) {
      const data = await fs.readFile(img.path);
      // Sample sheets of 32–64 px images are shown at twice their size, pixelated (see CSS).
      const width = data.length > 24 ? data.readUInt32BE(16) : 0;
      const size = width > 0 && width < 500 ? ` width="${width * 2}"` : '';
      parts.push(
        `<figure><img src="data:image/png;base64,${data.toString('base64')}"${size} alt="${escapeHtml(img.caption)}"><figcaption>${escapeHtml(img.caption)}</figcaption></figure>`,
      );
    }
    parts.push('</section>');
  }
  parts.push('</body></html>');
  return parts.join('\n');
}

/** Markdown with images linked relative to the report file, charts as SVG files beside it. */
export async function renderMarkdown(report: Report, reportPath: string, chartDir: string): Promise<string> {
  const out = [`# ${report.title}`, ''];
  if (report.subtitle) out.push(`_${report.subtitle}_`, '');
  let n = 0;
  for (const s of report.sections) {
    out.push(`## ${s.heading}`, '');
    for (const p of s.text ?? []) out.push(p, '');
    for (const [k, v] of s.facts ?? []) out.push(`- **${k}**: \`${v}\``);
    if (s.facts?.length) out.push('');
    for (const t of s.tables ?? []) out.push(tableMd(t), '');
    for (const c of s.charts ?? []) {
      const file = `${chartDir}/chart-${++n}.svg`;
      await fs.mkdir(chartDir, { recursive: true });
      await writeFileAtomic(file, lineChartSvg(c));
      out.push(`![${c.title}](${relative(dirname(reportPath), file)})`, '');
    }
    for (const img of s.images ?? [])
      out.push(`![${img.caption}](${relative(dirname(reportPath), img.path)})`, '');
  }
  return out.join('\n');
}
