import { join, resolve } from 'node:path';
import { pathExists, SkinganError, writeFileAtomic } from '@skingan/core';
import type { Command } from 'commander';
import { experimentReport } from '../experiment/experiment-report.js';
import { MANIFEST } from '../experiment/manifest.js';
import { forceOption, outputGuard } from '../outputs.js';
import type { Report } from '../report/model.js';
import { renderHtml, renderMarkdown } from '../report/render.js';
import { runReport } from '../report/run-report.js';
import { printJson } from '../ui/output.js';

/**
 * Writes `report.html` (self-contained) and `report.md` into `dir`; returns their paths. Files of
 * those names that `skingan report` did not write are left alone unless `force`.
 */
export async function writeReport(
  dir: string,
  report: Report,
  force = false,
): Promise<{ html: string; md: string }> {
  const html = join(dir, 'report.html');
  const md = join(dir, 'report.md');
  const charts = join(dir, 'report-charts');
  const guard = outputGuard('report', [], force);
  for (const f of [html, md, charts]) await guard.check(f);
  for (const f of [html, md, charts]) await guard.claim(f);
  await writeFileAtomic(html, await renderHtml(report));
  await writeFileAtomic(md, await renderMarkdown(report, md, charts));
  return { html, md };
}

/** The report of an experiment folder (experiment.json) or of a single training run (config.json). */
export async function reportFor(dir: string): Promise<Report> {
  if (await pathExists(join(dir, MANIFEST))) return experimentReport(dir);
  if (await pathExists(join(dir, 'config.json'))) return runReport(dir);
  throw new SkinganError('not an experiment or run folder (no experiment.json or config.json)', {
    code: 'USAGE',
    file: dir,
    hint: 'pass the --out folder of `skingan experiment …`, `skingan demo` or a training command',
  });
}

export function registerReport(program: Command): void {
  forceOption(program.command('report'))
    .description(
      'write report.html (one self-contained page: tables, loss curves, sample grids, FID/KID) and report.md for an experiment or run folder',
    )
    .argument('<dir>', 'experiment or run folder')
    .option('--json', 'print one JSON object: the paths written')
    .action(async (dirArg: string, opts: { json?: boolean; force?: boolean }) => {
      const dir = resolve(dirArg);
      const { html, md } = await writeReport(dir, await reportFor(dir), opts.force);
      if (opts.json) printJson({ dir, html, md });
      else process.stdout.write(`report: ${html}\n        ${md}\n`);
    });
}
