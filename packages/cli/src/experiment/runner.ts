import { spawn } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { pathExists, writeFileAtomic, writeJsonAtomic } from '@skingan/core';
import { type PlannedJob, resolveArgs } from './job.js';

export type JobStatus = 'reused' | 'done' | 'failed' | 'skipped';

export interface JobResult {
  id: string;
  status: JobStatus;
  out: string;
  log: string;
  ms: number;
  error?: string;
}

export type RunnerEvent =
  | { type: 'start'; job: PlannedJob; running: number }
  | { type: 'end'; job: PlannedJob; result: JobResult; finished: number; total: number };

export interface RunJobsOptions {
  /** Worker processes at once. WASM uses one core per process, so this is the parallelism. */
  concurrency: number;
  /** The `skingan` entry point the workers run. */
  bin: string;
  /** Extra environment for the workers (e.g. SKINGAN_BACKEND). */
  env?: Record<string, string>;
  onEvent?: (e: RunnerEvent) => void;
}

const MARKER = '.skingan-job.json';

/** A job whose folder holds the completion marker with the same key is done: reuse it. */
export async function isJobDone(job: PlannedJob): Promise<boolean> {
  try {
    const m = JSON.parse(await fs.readFile(join(job.out, MARKER), 'utf8')) as { key: string; status: string };
    return m.key === job.key && m.status === 'done';
  } catch {
    return false;
  }
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
    // Skip jobs whose dependencies failed; start ready ones while there is room.
    for (const id of [...pending]) {
      const job = all.get(id)!;
      const depResults = job.deps.map((d) => results.get(d));
      if (depResults.some((r) => r && (r.status === 'failed' || r.status === 'skipped'))) {
        pending.delete(id);
        const bad = job.deps.filter((d) => ['failed', 'skipped'].includes(results.get(d)?.status ?? ''));
        finish(job, {
          id,
          status: 'skipped',
          out: job.out,
          log: '',
          ms: 0,
          error: `needs ${bad.join(', ')}`,
        });
        continue;
      }
      if (running.size >= options.concurrency) continue;
      if (depResults.some((r) => r === undefined)) continue;
      pending.delete(id);
      const p = runOne(job, all, options).then((r) => {
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

async function runOne(
  job: PlannedJob,
  all: Map<string, PlannedJob>,
  options: RunJobsOptions,
): Promise<JobResult> {
  const log = join(job.out, 'job.log');
  const t0 = Date.now();
  if (await isJobDone(job)) return { id: job.id, status: 'reused', out: job.out, log, ms: 0 };
  const partial = await pathExists(job.out);
  const args = resolveArgs(job, all);
  if (partial && job.resumeFlag) args.push(job.resumeFlag);
  else if (partial) await fs.rm(job.out, { recursive: true, force: true });
  await fs.mkdir(job.out, { recursive: true });

  const logStream = createWriteStream(log, { flags: 'a' });
  logStream.write(`$ skingan ${args.join(' ')}\n`);
  const stdoutPath = job.stdoutFile ? join(job.out, job.stdoutFile) : undefined;
  const stdoutChunks: Buffer[] = [];
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [options.bin, ...args], {
      env: { ...process.env, ...options.env, CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => (stdoutPath ? stdoutChunks.push(d) : logStream.write(d)));
    child.stderr.on('data', (d: Buffer) => logStream.write(d));
    child.on('error', (e) => {
      logStream.write(`${e.message}\n`);
      resolve(127);
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  await new Promise<void>((r) => logStream.end(r));
  const ms = Date.now() - t0;
  if (code !== 0) {
    const tail = (await fs.readFile(log, 'utf8')).trim().split('\n').slice(-3).join(' | ');
    return { id: job.id, status: 'failed', out: job.out, log, ms, error: `exit ${code}: ${tail}` };
  }
  if (stdoutPath) await writeFileAtomic(stdoutPath, Buffer.concat(stdoutChunks));
  await writeJsonAtomic(join(job.out, MARKER), {
    key: job.key,
    id: job.id,
    status: 'done',
    ms,
    finishedAt: new Date().toISOString(),
    args,
  });
  return { id: job.id, status: 'done', out: job.out, log, ms };
}
