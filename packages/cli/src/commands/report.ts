import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathExists, SkinganError } from '@skingan/core';
import type { Command } from 'commander';
import { experimentReport } from '../experiment/experiment-report.js';
import type { Report } from '../report/model.js';
import { renderHtml, renderMarkdown } from '../report/render.js';
import { runReport } from '../report/run-report.js';
import { printJson } from '../ui/output.js';

/** Writes `report.html` (self-contained) and `report.md` into `dir`; returns their paths. */
export async function writeReport(dir: string, report: Report): Promise<{ html: string; md: string }> {
  const html = join(dir, 'report.html');
  const md = join(dir, 'report.md');
  await fs.writeFile(html, await renderHtml(report));
  await fs.writeFile(md, await renderMarkdown(report, md, join(dir, 'report-charts')));
  return { html, md };
}

/** The report of an experiment folder (experiment.json) or of a single training run (config.json). */
export async function reportFor(dir: string): Promise<Report> {
  if (await pathExists(join(dir, 'experiment.json'))) return experimentReport(dir);
  if (await pathExists(join(dir, 'config.json'))) return runReport(dir);
  throw new SkinganError('not an experiment or run folder (no experiment.json or config.json)', {
    code: 'USAGE',
    file: dir,
    hint: 'pass the --out folder of `skingan experiment …`, `skingan demo` or a training command',
  });
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(
      'write report.html (one self-contained page: tables, loss curves, sample grids, FID/KID) and report.md for an experiment or run folder',
    )
    .argument('<dir>', 'experiment or run folder')
    .option('--json', 'print one JSON object: the paths written')
    .action(async (dirArg: string, opts: { json?: boolean }) => {
      const dir = resolve(dirArg);
      const { html, md } = await writeReport(dir, await reportFor(dir));
      if (opts.json) printJson({ dir, html, md });
      else process.stdout.write(`report: ${html}\n        ${md}\n`);
    });
}
