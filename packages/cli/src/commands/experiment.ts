import { cpus } from 'node:os';
import { join } from 'node:path';
import { pathExists } from '@skingan/core';
import type { Command } from 'commander';
import { EXPERIMENT_PRESETS } from '../experiment/config.js';
import { type ExperimentOptions, runExperiment } from '../experiment/run-experiment.js';
import { globalBackend, intOption } from '../options.js';
import { forceOption, outputGuard } from '../outputs.js';
import { reportFor, writeReport } from './report.js';

/** Flags of `experiment noise2img|nv2mel` (and of `demo`, whose --data is optional). */
export interface ExperimentFlags {
  data: string[];
  out: string;
  config?: string;
  preset: string;
  repeats?: number;
  jobs: number;
  resume?: boolean;
  report: boolean;
  force?: boolean;
}

/** Runs an experiment, writes its report, prints where everything is; exit 1 if any job failed. */
export async function experimentCommand(
  kind: ExperimentOptions['kind'],
  opts: ExperimentFlags,
  cmd: Command,
): Promise<string> {
  const backend = globalBackend(cmd);
  const outcome = await runExperiment({
    kind,
    data: opts.data,
    out: opts.out,
    preset: opts.preset,
    ...(opts.config ? { configFile: opts.config } : {}),
    ...(opts.repeats ? { repeats: opts.repeats } : {}),
    jobs: opts.jobs,
    resume: Boolean(opts.resume),
    ...(backend ? { backend } : {}),
  });
  const lines = outcome.tables.tables.map(
    (t) => `  ${t.name}: ${outcome.dir}/tables/${t.name}.{md,csv,json}`,
  );
  let reportPath = '';
  if (opts.report) {
    // The experiment owns its folder (checked before it started), its report files included.
    const { html } = await writeReport(outcome.dir, await reportFor(outcome.dir), true);
    reportPath = html;
    lines.push(`report: ${html}`);
  }
  const failed = outcome.results.filter((r) => r.status === 'failed');
  for (const f of failed) lines.push(`failed: ${f.id} (log: ${f.log})`);
  process.stdout.write(`tables:\n${lines.join('\n')}\n`);
  if (failed.length) {
    process.stderr.write(
      `skingan: ${failed.length} job(s) failed; fix the cause and rerun with --resume (finished jobs are reused)\n`,
    );
    process.exitCode = 1;
  }
  return reportPath;
}

export function withExperimentFlags(cmd: Command, defaults: { preset: string }): Command {
  return cmd
    .option(
      '--config <file>',
      'JSON with experiment config fields (over the preset; see experiment.json of a run)',
    )
    .option(
      '--preset <name>',
      `sizes and grids: ${Object.keys(EXPERIMENT_PRESETS).join(', ')}`,
      defaults.preset,
    )
    .option(
      '--repeats <n>',
      'classifier seeds per training set (≥ 2: mean ± CI and paired tests per seed)',
      intOption('--repeats'),
    )
    .option(
      '--jobs <n>',
      'worker processes for independent jobs (WASM uses one core each)',
      intOption('--jobs'),
      Math.max(1, cpus().length),
    )
    .option(
      '--resume',
      'continue the experiment in --out: finished jobs are reused, partial training resumes',
    )
    .option('--no-report', 'skip report.html / report.md');
}

export function registerExperiment(program: Command): void {
  const exp = program
    .command('experiment')
    .description(
      "the thesis' experiments as single resumable commands ending in its tables, with CIs and paired tests",
    );
  for (const [kind, description] of [
    [
      'noise2img',
      'thesis ch. 6: ACGAN → per-class CycleGAN → classifiers on real + N synthetic per class → Table 6.2, FID/KID',
    ],
    [
      'nv2mel',
      'thesis ch. 7: classifier → path-rank-filter of MEL per α → NV↔MEL CycleGAN → classifiers on real + N synthetic MEL → Table 7.2',
    ],
  ] as const) {
    withExperimentFlags(
      forceOption(exp.command(kind))
        .description(description)
        .requiredOption(
          '--data <dir...>',
          'real dataset folder(s) (labels.csv + images/, or the ISIC 2019 layout)',
        )
        .requiredOption('--out <dir>', 'experiment folder (jobs/, tables/, report.html, experiment.json)'),
      { preset: 'cpu' },
    ).action(async (opts: ExperimentFlags, cmd: Command) => {
      // An experiment folder is checked by the experiment itself (--resume, its kind); any other
      // existing folder must be this command's, or forced.
      if (!(await pathExists(join(opts.out, 'experiment.json')))) {
        await outputGuard('experiment', opts.data, opts.force).checkAndClaim(opts.out);
      }
      await experimentCommand(kind, opts, cmd);
    });
  }
}
