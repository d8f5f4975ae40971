import { spawn } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '@skingan/core';
import { readJsonIfAny } from '../read-json.js';
import { type PlannedJob, resolveArgs } from './job.js';
import type { ExperimentManifest } from './manifest.js';
import type { QueueJobStatus } from './queue/status.js';
import { activeOwner, claimWorkFolder, commitWorkFolder } from './work-folder.js';

export type JobStatus = 'reused' | 'done' | 'failed' | 'skipped';

export interface JobResult {
  id: string;
  status: JobStatus;
  out: string;
  log: string;
  ms: number;
  error?: string;
  /** Where it ran (jobs run now; reused ones carry it in their marker). */
  host?: string;
  backend?: string;
}

export type RunnerEvent =
  | { type: 'start'; job: PlannedJob; running: number }
  | { type: 'end'; job: PlannedJob; result: JobResult; finished: number; total: number };

interface RunJobsOptions {
  /** Worker processes at once. */
  concurrency: number;
  /**
   * `SKINGAN_THREADS` for each worker (see `threadsPerJob`); unset: the worker's own default (the
   * CPU count up to 4) or the SKINGAN_THREADS this process was given.
   */
  threads?: number;
  /** The `skingan` entry point the workers run. */
  bin: string;
  /** Extra environment for the workers (e.g. SKINGAN_BACKEND). */
  env?: Record<string, string>;
  onEvent?: (e: RunnerEvent) => void;
  /**
   * Stops the run: no job starts any more, and running jobs are sent `forward()`'s signal (they
   * checkpoint and exit; default SIGTERM; null when they got the signal themselves, as Ctrl-C
   * reaches every process of the terminal). Jobs stopped or never started are reported 'skipped'.
   */
  signal?: AbortSignal;
  forward?: () => NodeJS.Signals | null;
}

const MARKER = '.skingan-job.json';

/**
 * Threads per job so that `jobs` processes at once do not oversubscribe `cores`: each job's WASM
 * backend runs its convolutions on SKINGAN_THREADS threads (itself plus helpers), and its GEMM
 * helper pool has as many. max(1, floor(cores / jobs)).
 */
export function threadsPerJob(cores: number, jobs: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, jobs)));
}

/** The result of a job that did not run to its end: why, and its log if it started. */
export function skippedResult(
  job: Pick<PlannedJob, 'id' | 'out'>,
  error: string,
  log = '',
  ms = 0,
): JobResult {
  return { id: job.id, status: 'skipped', out: job.out, log, ms, error };
}

/** A job whose folder holds the completion marker with the same key is done: reuse it. */
export async function isJobDone(job: Pick<PlannedJob, 'out' | 'key'>): Promise<boolean> {
  return (await readJobMarker(job)) !== undefined;
}

/**
 * Runs jobs in dependency order on a local process pool. Finished jobs (marker present) are
 * reused; a partial folder is resumed when the job's command can resume, else cleared and rerun.
 * A failed job is reported with its log path; jobs that need it are skipped; all others still run.
 */
export async function runJobs(jobs: PlannedJob[], options: RunJobsOptions): Promise<JobResult[]> {
  const all = new Map(jobs.map((j) => [j.id, j]));
  const results = new Map<string, JobResult>();
  const pending = new Set(jobs.map((j) => j.id));
  const running = new Map<string, Promise<void>>();
  let finished = 0;

  const finish = (job: PlannedJob, result: JobResult) => {
    results.set(job.id, result);
    finished++;
    options.onEvent?.({ type: 'end', job, result, finished, total: jobs.length });
  };

  while (pending.size > 0 || running.size > 0) {
    if (options.signal?.aborted) {
      for (const id of pending) {
        finish(all.get(id)!, skippedResult(all.get(id)!, 'stopped before it started'));
      }
      pending.clear();
    }
    // Skip jobs whose dependencies failed; start ready ones while there is room.
    for (const id of [...pending]) {
      const job = all.get(id)!;
      const bad = job.deps.filter((d) => ['failed', 'skipped'].includes(results.get(d)?.status ?? ''));
      if (bad.length) {
        pending.delete(id);
        finish(job, skippedResult(job, `needs ${bad.join(', ')}`));
        continue;
      }
      if (running.size >= options.concurrency) continue;
      if (job.deps.some((d) => !results.has(d))) continue;
      pending.delete(id);
      const p = runJob(job, all, options).then((r) => {
        running.delete(id);
        finish(job, r);
      });
      running.set(id, p);
      options.onEvent?.({ type: 'start', job, running: running.size });
    }
    if (running.size > 0) await Promise.race(running.values());
    else if (pending.size > 0)
      throw new Error(`jobs cannot start: ${[...pending].join(', ')} (planJobs checks the graph)`);
  }
  return jobs.map((j) => results.get(j.id)!);
}

/** Where and how a job ran, for experiment.json and the report (never for the tables). */
interface JobHost {
  host: string;
  /** The backend the job was asked to use (`auto`: the fastest usable). */
  backend: string;
}

type RunJobOptions = Pick<RunJobsOptions, 'bin' | 'env' | 'threads' | 'signal' | 'forward'>;

/**
 * Runs one job unless its output is already complete: in a work folder of its own (an abandoned
 * partial one is resumed when the command can, else cleared), renamed into place when it succeeds.
 * A failure keeps the work folder (its log, and checkpoints a rerun resumes from).
 */
export async function runJob(
  job: PlannedJob,
  all: Map<string, PlannedJob>,
  options: RunJobOptions,
): Promise<JobResult> {
  const t0 = Date.now();
  const where: JobHost = {
    host: hostname(),
    backend: options.env?.SKINGAN_BACKEND ?? process.env.SKINGAN_BACKEND ?? 'auto',
  };
  const done = () => isJobDone(job);
  const before = await readJobMarker(job);
  if (before) return { id: job.id, status: 'reused', out: job.out, log: join(job.out, 'job.log'), ...before };
  if (options.signal?.aborted) return skippedResult(job, 'stopped before it started');
  const work = await claimWorkFolder(job.out, done, { resume: Boolean(job.resumeFlag) });
  const args = resolveArgs({ ...job, out: work.dir }, all);
  if (work.resumed && job.resumeFlag) args.push(job.resumeFlag);
  const log = join(work.dir, 'job.log');
  const logStream = createWriteStream(log, { flags: 'a' });
  logStream.write(`$ skingan ${args.join(' ')}\n`);
  const stdoutPath = job.stdoutFile ? join(work.dir, job.stdoutFile) : undefined;
  const stdoutChunks: Buffer[] = [];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [options.bin, ...args], {
      // SKINGAN_EXIT_WITH_PARENT: a worker killed with -9 takes its job's process with it.
      env: {
        ...process.env,
        ...(options.threads ? { SKINGAN_THREADS: String(options.threads) } : {}),
        ...options.env,
        CI: '1',
        SKINGAN_EXIT_WITH_PARENT: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stop = () => {
      const signal = options.forward ? options.forward() : 'SIGTERM';
      if (signal) child.kill(signal);
    };
    options.signal?.addEventListener('abort', stop, { once: true });
    child.on('close', () => options.signal?.removeEventListener('abort', stop));
    child.stdout.on('data', (d: Buffer) => (stdoutPath ? stdoutChunks.push(d) : logStream.write(d)));
    child.stderr.on('data', (d: Buffer) => logStream.write(d));
    child.on('error', (e) => {
      logStream.write(`${e.message}\n`);
      resolve(127);
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  // A `--json` job prints its error to stdout: on failure it belongs in the log, where it is read.
  const failedJson = code !== 0 && stdoutPath ? Buffer.concat(stdoutChunks).toString('utf8') : '';
  if (failedJson) logStream.write(failedJson);
  await new Promise<void>((r) => logStream.end(r));
  const ms = Date.now() - t0;
  if (code !== 0 && options.signal?.aborted) {
    await work.abandon();
    return skippedResult(job, `stopped (exit ${code}); --resume continues it`, log, ms);
  }
  if (code !== 0) {
    await work.abandon();
    const tail =
      jsonErrorLine(failedJson) ?? (await fs.readFile(log, 'utf8')).trim().split('\n').slice(-3).join(' | ');
    return { id: job.id, status: 'failed', out: job.out, log, ms, error: `exit ${code}: ${tail}`, ...where };
  }
  if (stdoutPath) await writeFileAtomic(stdoutPath, Buffer.concat(stdoutChunks));
  await writeJsonAtomic(join(work.dir, MARKER), {
    key: job.key,
    id: job.id,
    status: 'done',
    ms,
    ...where,
    finishedAt: new Date().toISOString(),
    args: resolveArgs(job, all),
  });
  // Another worker's output already in place: ours is dropped, theirs is the result.
  const won = await commitWorkFolder(work, job.out, done);
  return {
    id: job.id,
    status: won ? 'done' : 'reused',
    out: job.out,
    log: join(job.out, 'job.log'),
    ms,
    ...where,
  };
}

/** "message (hint)" of the `{ "error": … }` a `--json` command printed, if that is what `stdout` holds. */
function jsonErrorLine(stdout: string): string | undefined {
  try {
    const { error } = JSON.parse(stdout) as { error?: { message?: string; hint?: string | null } };
    if (typeof error?.message !== 'string') return undefined;
    return error.hint ? `${error.message} (${error.hint})` : error.message;
  } catch {
    return undefined;
  }
}

/** The marker of a finished job: where it ran and how long it took (undefined when not finished). */
export async function readJobMarker(
  job: Pick<PlannedJob, 'out' | 'key'>,
): Promise<(JobHost & { ms: number }) | undefined> {
  const m = await readJsonIfAny<{ key?: string; status?: string } & Partial<JobHost & { ms: number }>>(
    join(job.out, MARKER),
  );
  return m?.key === job.key && m.status === 'done'
    ? { host: m.host ?? 'unknown', backend: m.backend ?? 'unknown', ms: m.ms ?? 0 }
    : undefined;
}

/** A job whose finished output is on disk, with where it ran (for `experiment status`); else undefined. */
export async function doneStatus(
  job: Pick<PlannedJob, 'id' | 'out' | 'key'>,
): Promise<QueueJobStatus | undefined> {
  const m = await readJobMarker(job);
  return m && { id: job.id, state: 'done', worker: m.host, backend: m.backend, seconds: m.ms / 1000 };
}

/**
 * Without a queue: finished outputs on disk, jobs whose work folder has a live owner (a local
 * `--jobs` run, or a worker's heartbeat), and the failures the last local run recorded.
 */
export async function folderStatus(
  m: Pick<ExperimentManifest, 'jobs' | 'results'>,
): Promise<QueueJobStatus[]> {
  return Promise.all(
    m.jobs.map(async (j): Promise<QueueJobStatus> => {
      const done = await doneStatus(j);
      if (done) return done;
      const owner = await activeOwner(j.out);
      if (owner) return { id: j.id, state: 'running', worker: `${owner.host} (pid ${owner.pid})` };
      const last = m.results?.[j.id];
      if (last?.status === 'failed' || last?.status === 'skipped') {
        return {
          id: j.id,
          state: 'failed',
          error: last.error ?? last.status,
          ...(last.log ? { log: last.log } : {}),
        };
      }
      return { id: j.id, state: 'waiting' };
    }),
  );
}
