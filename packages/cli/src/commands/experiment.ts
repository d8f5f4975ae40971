import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { lockFolder, pathExists, SkinganError } from '@skingan/core';
import type { Command } from 'commander';
import { EXPERIMENT_PRESETS } from '../experiment/config.js';
import { MANIFEST, readManifest } from '../experiment/manifest.js';
import type { QueueJobStatus } from '../experiment/queue/status.js';
import { type ExperimentOptions, runExperiment } from '../experiment/run-experiment.js';
import { folderStatus } from '../experiment/runner.js';
import { addOptions, globalBackend } from '../options.js';
import { forceOption, outputGuard } from '../outputs.js';
import { errorDocument, printJson } from '../ui/output.js';
import { onStopSignals } from '../ui/stop-signals.js';
import { reportFor, writeReport } from './report.js';

/** Flags of `experiment noise2img|nv2mel` (and of `demo`, whose --data is optional). */
export interface ExperimentFlags {
  data: string[];
  out: string;
  config?: string;
  preset: string;
  repeats?: number;
  folds?: number;
  jobs: number;
  resume?: boolean;
  report: boolean;
  json?: boolean;
  queue?: string;
  force?: boolean;
}

/** What `experiment … --json` (and `demo --json`) prints. */
export interface ExperimentSummary {
  kind: ExperimentOptions['kind'];
  dir: string;
  tables: { name: string; md: string; csv: string; json: string }[];
  report: { html: string; md: string } | null;
  jobs: { total: number; failed: number; skipped: number };
  failed: { id: string; log: string; error: string | null }[];
  /** What the tables lack because its jobs stopped or failed: training sets, GAN metrics. */
  incomplete: string[];
}

/**
 * The human form of the summary (stdout). A stopped or failed experiment still writes its tables,
 * so they must not pass for whole ones: what they lack is named, with the way to finish it.
 */
export function summaryText(s: ExperimentSummary): string {
  const lines = s.tables.map((t) => `  ${t.name}: ${join(s.dir, 'tables', t.name)}.{md,csv,json}`);
  if (s.report) lines.push(`report: ${s.report.html}`);
  for (const f of s.failed) lines.push(`failed: ${f.id} (log: ${f.log})`);
  if (s.incomplete.length) {
    const why = [
      s.jobs.skipped ? `${s.jobs.skipped} job(s) not run` : '',
      s.jobs.failed ? `${s.jobs.failed} failed` : '',
    ].filter(Boolean);
    lines.push(
      `incomplete: these tables lack ${s.incomplete.join(', ')}` +
        `${why.length ? ` (${why.join(', ')})` : ''}; --resume runs what is missing and rewrites them`,
    );
  }
  return `tables:\n${lines.join('\n')}\n`;
}

/**
 * Runs an experiment, writes its report, prints where everything is (or, with --json, the summary);
 * exit 1 if any job failed, and with --json the summary then also carries an `error`.
 */
export async function experimentCommand(
  kind: ExperimentOptions['kind'],
  opts: ExperimentFlags,
  cmd: Command,
): Promise<ExperimentSummary> {
  const backend = globalBackend(cmd);
  // Its jobs lock their own folders; this lock keeps a second experiment out of the whole tree.
  const lock = await lockFolder(opts.out, { command: `experiment ${kind}` });
  // Ctrl-C reaches the jobs from the terminal; a SIGTERM sent to this process is passed on.
  const stop = onStopSignals(
    (l) => process.stderr.write(`${l}\n`),
    opts.queue
      ? 'no longer waiting for the workers'
      : 'stopping the running jobs at their next checkpoint; --resume continues them',
  );
  try {
    const outcome = await runExperiment({
      ...opts,
      kind,
      configFile: opts.config,
      resume: Boolean(opts.resume),
      backend,
      signal: stop.signal,
      forward: () => (stop.exitCode === 143 ? 'SIGTERM' : null),
    });
    // The experiment owns its folder (checked before it started), its report files included.
    const report = opts.report ? await writeReport(outcome.dir, await reportFor(outcome.dir), true) : null;
    const failed = outcome.results.filter((r) => r.status === 'failed');
    const summary: ExperimentSummary = {
      kind,
      dir: outcome.dir,
      tables: outcome.tables.tables.map((t) => {
        const base = join(outcome.dir, 'tables', t.name);
        return { name: t.name, md: `${base}.md`, csv: `${base}.csv`, json: `${base}.json` };
      }),
      report,
      jobs: {
        total: outcome.results.length,
        failed: failed.length,
        skipped: outcome.results.filter((r) => r.status === 'skipped').length,
      },
      failed: failed.map((f) => ({ id: f.id, log: f.log, error: f.error ?? null })),
      incomplete: outcome.tables.incomplete,
    };
    const failure = failed.length
      ? new SkinganError(`${failed.length} job(s) failed: ${failed.map((f) => f.id).join(', ')}`, {
          code: 'INTERNAL',
          hint: 'fix the cause (see each job log) and rerun with --resume: finished jobs are reused',
        })
      : undefined;
    if (failure) process.exitCode = 1;
    if (opts.json) printJson(failure ? { ...summary, ...errorDocument(failure) } : summary);
    else {
      process.stdout.write(summaryText(summary));
      if (failure) process.stderr.write(`skingan: ${failure.describe()}\n`);
    }
    if (stop.signal.aborted) process.exitCode = stop.exitCode;
    return summary;
  } finally {
    stop.dispose();
    await lock.release();
  }
}

export function withExperimentFlags(cmd: Command, defaults: { preset: string }): Command {
  return addOptions(cmd, [
    ['--config <file>', 'JSON with experiment config fields (over the preset; see experiment.json of a run)'],
    [
      '--preset <name>',
      `sizes and grids: ${Object.keys(EXPERIMENT_PRESETS).join(', ')}`,
      'text',
      defaults.preset,
    ],
    ['--repeats <n>', 'classifier seeds per training set (≥ 2: mean ± CI and paired tests per seed)', 'int'],
    [
      '--folds <k>',
      'K ≥ 2: run every row on each of K rotated (lesion-disjoint) splits whose test parts cover every image once; a row pools K × repeats runs (config field "folds")',
      'int',
    ],
    [
      '--jobs <n>',
      'worker processes for independent jobs (WASM uses one core each)',
      'int',
      Math.max(1, cpus().length),
    ],
    ['--resume', 'continue the experiment in --out: finished jobs are reused, partial training resumes'],
    ['--no-report', 'skip report.html / report.md'],
    [
      '--queue <redis-url>',
      'put the jobs on a BullMQ queue in Redis (redis://[:PASSWORD@]HOST:PORT/DB) for `skingan worker`s on machines that share the experiment folder at the same path, instead of --jobs local processes',
    ],
    ['--json', 'print one JSON object: tables, report and failed jobs'],
  ]);
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
      if (!(await pathExists(join(opts.out, MANIFEST)))) {
        await outputGuard('experiment', opts.data, opts.force).checkAndClaim(opts.out);
      }
      await experimentCommand(kind, opts, cmd);
    });
  }
  exp
    .command('status')
    .description(
      'each job of an experiment: done (where it ran), running (on which worker), waiting, failed (why, and its log)',
    )
    .argument('<dir>', 'experiment folder (its experiment.json)')
    .option(
      '--queue <redis-url>',
      'the queue the experiment was submitted to (without: what the folder shows)',
    )
    .option('--json', 'print one JSON object')
    .action(async (dir: string, opts: { queue?: string; json?: boolean }) => {
      await experimentStatus(dir, opts);
    });
}

async function experimentStatus(dir: string, opts: { queue?: string; json?: boolean }): Promise<void> {
  const abs = resolve(dir);
  const m = await readManifest(abs);
  const jobs: QueueJobStatus[] = opts.queue
    ? await (await import('../experiment/queue/status.js')).queueStatus(opts.queue, abs, m)
    : await folderStatus(m);
  const count = (s: string) => jobs.filter((j) => j.state === s).length;
  if (opts.json) {
    printJson({ dir: abs, jobs });
    return;
  }
  const lines = [
    `${abs}: ${count('done')} done, ${count('running')} running, ${count('waiting')} waiting, ${count('failed')} failed (of ${jobs.length})`,
  ];
  for (const j of jobs) {
    if (j.state === 'running') lines.push(`  running  ${j.id}${j.worker ? ` on ${j.worker}` : ''}`);
    if (j.state === 'failed')
      lines.push(`  failed   ${j.id}: ${j.error}${j.log ? `\n           log: ${j.log}` : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
