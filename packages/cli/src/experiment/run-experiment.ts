import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pathExists, SkinganError } from '@skingan/core';
import { findLesionMetadata, formatProblem, lesionGroups, loadDataset, makeSplit } from '@skingan/data';
import { formatDuration, Progress } from '../ui/progress.js';
import { codeFingerprint } from './code-fingerprint.js';
import { resolveExperimentConfig } from './config.js';
import { type DataKeys, dataKeys, lesionKey } from './data-keys.js';
import { planJobs } from './job.js';
import { type ExperimentManifest, finishedOut, MANIFEST, readManifest, writeManifest } from './manifest.js';
import { describeClassifiers, describeSplit, type ExperimentPlan, sizeMismatch } from './pipelines/common.js';
import { foldedPlan } from './pipelines/folds.js';
import { noise2imgPlan } from './pipelines/noise2img.js';
import { nv2melPlan } from './pipelines/nv2mel.js';
import { checkWeightsCached } from './preflight.js';
import { isJobDone, type JobResult, type RunnerEvent, runJobs, threadsPerJob } from './runner.js';
import { buildTables, type ExperimentTables } from './tables.js';

export interface ExperimentOptions {
  kind: 'noise2img' | 'nv2mel';
  data: string[];
  out: string;
  preset: string;
  configFile?: string;
  repeats?: number;
  /** Folds (`ExperimentConfig.folds`), over the config's. */
  folds?: number;
  /** Worker processes (WASM uses one core each). */
  jobs: number;
  resume: boolean;
  /** Passed to every worker as SKINGAN_BACKEND. */
  backend?: string;
  /** `redis://…`: the jobs go on this BullMQ queue for `skingan worker`s instead of a local pool. */
  queue?: string;
  quiet?: boolean;
  /** Stops the jobs (see `RunJobsOptions.signal`). */
  signal?: AbortSignal;
  forward?: () => NodeJS.Signals | null;
}

interface ExperimentOutcome {
  dir: string;
  results: JobResult[];
  tables: ExperimentTables;
}

/** The `skingan` entry point job processes run. */
export const BIN = fileURLToPath(new URL('../bin.js', import.meta.url));

/** Classes with at least this many images take part (a CycleGAN needs something to learn from). */
const MIN_PER_CLASS = 4;

/**
 * Plans an experiment as jobs, runs them on a local process pool (finished jobs are reused; a
 * failed job is reported with its log and does not stop the others), then writes the tables.
 */
export async function runExperiment(o: ExperimentOptions): Promise<ExperimentOutcome> {
  if (o.queue) {
    // A bad URL or an unreachable Redis is said before any planning.
    await (await import('./queue/connection.js')).openRedis(o.queue);
  }
  const dir = resolve(o.out);
  const data = o.data.map((d) => resolve(d));
  const config = await resolveExperimentConfig(o.preset, o.configFile, {
    ...(o.repeats ? { repeats: o.repeats } : {}),
    ...(o.folds !== undefined ? { folds: o.folds } : {}),
  });
  let previous: ExperimentManifest | undefined;
  if (await pathExists(join(dir, MANIFEST))) {
    if (!o.resume) {
      throw new SkinganError('an experiment already exists here', {
        code: 'USAGE',
        file: dir,
        hint: 'pass --resume to continue it (finished stages are reused), or choose another --out',
      });
    }
    previous = await readManifest(dir);
    if (previous.kind !== o.kind) {
      throw new SkinganError(`this folder holds a ${previous.kind} experiment, not ${o.kind}`, {
        code: 'USAGE',
        file: dir,
      });
    }
  }

  const dataset = await loadDataset(data);
  const count = (label: number) => dataset.samples.filter((s) => s.label === label).length;
  const classes = dataset.labelSpace.classes.filter((_, i) => count(i) >= MIN_PER_CLASS);
  // The split(s) the split job(s) will write (same data, seed, fractions, each fold, and by lesion
  // wherever the data has lesion metadata, found as `data split --group-by lesion_id` finds it),
  // to key jobs by what they read.
  const metadata = await findLesionMetadata(data);
  const lesions = metadata.length ? await lesionGroups(dataset, metadata) : undefined;
  const lesionIds = metadata.length ? await lesionKey(metadata) : undefined;
  const folds = config.folds > 1 ? Array.from({ length: config.folds }, (_, index) => index) : [undefined];
  const splits = folds.map((index) =>
    makeSplit(dataset, {
      seed: config.seed,
      fractions: config.fractions,
      ...(lesions ? { groups: lesions.groups } : {}),
      ...(index === undefined ? {} : { fold: { count: config.folds, index } }),
    }),
  );
  const keys: DataKeys[] = [];
  for (const split of splits) keys.push(await dataKeys(dataset, split, lesionIds));
  let plan: ExperimentPlan;
  if (o.kind === 'noise2img') {
    if (classes.length < 2)
      throw new SkinganError(`the data has fewer than 2 classes with ${MIN_PER_CLASS}+ images`, {
        file: data[0],
      });
    plan = foldedPlan(keys, (k) => noise2imgPlan(data, config, k, classes));
  } else {
    for (const need of ['NV', 'MEL']) {
      if (!classes.includes(need))
        throw new SkinganError(`nv2mel needs ${need} images (at least ${MIN_PER_CLASS})`, { file: data[0] });
    }
    const nv = dataset.labelSpace.classes.indexOf('NV');
    // N is capped at the NV train images of the fold that has the fewest: every fold plans the same rows.
    const nvTrain = Math.min(
      ...splits.map((split) => {
        const train = new Set(split.ids.train);
        return dataset.samples.filter((s) => s.label === nv && train.has(s.id)).length;
      }),
    );
    plan = foldedPlan(keys, (k) => nv2melPlan(data, config, k, nvTrain, classes));
  }
  const code = await codeFingerprint();
  const jobs = planJobs(plan.jobs, dir, code);
  // On a queue the workers' machines hold the weights, not this one.
  if (!o.queue) {
    const pending = [];
    for (const j of jobs) if (!(await isJobDone(j))) pending.push(j);
    checkWeightsCached(pending);
  }
  const { jobs: _jobs, ...planData } = plan;
  const manifest: ExperimentManifest = {
    format: 'skingan-experiment@1',
    kind: o.kind,
    data,
    dataFingerprint: keys[0]!.data,
    code,
    config,
    backend: o.backend ?? null,
    createdAt: previous?.createdAt ?? new Date().toISOString(),
    updatedAt: new Date().toISOString(),
    plan: planData,
    jobs: jobs.map((j) => ({ id: j.id, stage: j.stage, key: j.key, out: j.out })),
  };
  await writeManifest(dir, manifest);

  const progress = new Progress({ label: o.kind, total: jobs.length, unit: 'jobs', quiet: o.quiet });
  const log = (line: string) => progress.log(line);
  log(
    `${o.kind}: ${jobs.length} jobs, ${o.queue ? `on the queue ${o.queue.replace(/\/\/[^@/]*@/, '//')}` : `${o.jobs} at a time`}, preset ${config.preset} → ${dir}`,
  );
  log(`split: ${describeSplit(plan.split, config.seed, config.folds)}`);
  log(`classifiers: ${describeClassifiers(config)}`);
  for (const p of lesions?.problems ?? []) log(`warning: ${formatProblem(p)}`);
  const blur = sizeMismatch(o.kind, config);
  if (blur) log(`warning: ${blur}`);
  const onEvent = (e: RunnerEvent) => {
    if (e.type === 'start') {
      progress.update(progress.count, { stage: e.job.stage, job: e.job.id });
      return;
    }
    const r = e.result;
    if (r.status === 'reused') log(`  reused  ${r.id}`);
    else if (r.status === 'done') log(`  done    ${r.id} (${formatDuration(r.ms)})`);
    else if (r.status === 'failed') log(`  FAILED  ${r.id}: ${r.error}\n          log: ${r.log}`);
    else log(`  skipped ${r.id} (${r.error})`);
    progress.update(e.finished, { stage: e.job.stage });
  };
  const results = o.queue
    ? // The queue's code (BullMQ) is loaded only here, so runs without --queue never touch Redis.
      await (await import('./queue/submit.js')).runJobsOnQueue(jobs, {
        url: o.queue,
        experiment: dir,
        backend: o.backend ?? null,
        onEvent,
        log,
        signal: o.signal,
      })
    : await runJobs(jobs, {
        concurrency: o.jobs,
        // An explicit SKINGAN_THREADS is the user's choice; else share the cores among the jobs.
        threads: process.env.SKINGAN_THREADS ? undefined : threadsPerJob(availableParallelism(), o.jobs),
        bin: BIN,
        env: o.backend ? { SKINGAN_BACKEND: o.backend } : {},
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.forward ? { forward: o.forward } : {}),
        onEvent,
      });
  manifest.results = Object.fromEntries(
    results.map((r) => [
      r.id,
      {
        status: r.status,
        ms: r.ms,
        log: r.log,
        ...(r.host ? { host: r.host, backend: r.backend } : {}),
        ...(r.error ? { error: r.error } : {}),
      },
    ]),
  );
  await writeManifest(dir, manifest);

  const tables = await buildTables(plan, data, finishedOut(manifest), dir, config.seed);
  const counted = (s: string) => results.filter((r) => r.status === s).length;
  progress.finish(
    `${o.kind}: ${counted('done')} jobs run, ${counted('reused')} reused, ${counted('failed')} failed, ${counted('skipped')} skipped`,
  );
  return { dir, results, tables };
}
