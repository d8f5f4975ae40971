import { hostname } from 'node:os';
import { join } from 'node:path';
import { pathExists } from '@skingan/core';
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { PlannedJob } from '../job.js';
import { MANIFEST } from '../manifest.js';
import { isJobDone, type JobResult, runJob } from '../runner.js';
import { openRedis, QUEUE_NAME } from './connection.js';
import type { GateData, QueueData, RunData } from './flow.js';

interface WorkerOptions {
  url: string;
  /** Jobs at once (WASM uses one core per job). */
  concurrency: number;
  /** SKINGAN_BACKEND of the jobs this worker runs (over the submitter's). */
  backend?: string;
  /** The `skingan` entry point jobs run. */
  bin: string;
  /** How long a job stays with a worker that stopped answering before another takes it. */
  lockMs?: number;
  /** How often a waiting dependency gate looks again. */
  gatePollMs?: number;
  log?: (line: string) => void;
}

/** What a job's progress holds while it runs, for `experiment status`. */
export interface RunProgress {
  worker: string;
  backend: string;
  startedAt: string;
  log?: string;
}

/** What a finished job returns (BullMQ keeps it as the job's return value). */
export interface RunReturn {
  status: JobResult['status'];
  host: string;
  backend: string;
  ms: number;
  log: string;
}

/**
 * A BullMQ worker for experiment jobs. A job runs only where its experiment folder is visible at the
 * same path (a shared filesystem); it runs once (`attempts: 1`: a failure of its own is final, with
 * its log); a worker that dies mid-job loses its lock and BullMQ's stalled-job check hands the job to
 * another worker, which resumes the abandoned work folder when the command can.
 */
export async function startWorker(o: WorkerOptions): Promise<{ close: () => Promise<void> }> {
  const { target, connection } = await openRedis(o.url);
  const me = `${hostname()}:${process.pid}`;
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const queue = new Queue(QUEUE_NAME, { connection });
  const lockMs = o.lockMs ?? 30_000;

  const gate = async (job: Job<GateData>, token?: string) => {
    const w = job.data.waitFor;
    if (await isJobDone(w)) return { status: 'done' };
    const state = await queue.getJobState(w.jobId);
    if (state === 'completed') return { status: 'done' }; // the job itself checks the output
    if (state === 'failed') throw new UnrecoverableError(`needs ${w.id}, which failed`);
    if (state === 'unknown') throw new UnrecoverableError(`needs ${w.id}, which is not in the queue`);
    // Not finished yet: look again later, without holding a worker slot meanwhile.
    await job.moveToDelayed(Date.now() + (o.gatePollMs ?? 2000), token);
    throw new DelayedError();
  };

  const run = async (job: Job<RunData>): Promise<RunReturn> => {
    const { experiment, job: planned, deps } = job.data;
    if (!(await pathExists(join(experiment, MANIFEST)))) {
      throw new UnrecoverableError(
        `worker ${me} cannot see the experiment folder ${experiment}: workers need it on a shared filesystem at the same path`,
      );
    }
    for (const d of deps) {
      if (!(await isJobDone(d)))
        throw new UnrecoverableError(`needs ${d.id}, whose output ${d.out} is not finished`);
    }
    const backend = o.backend ?? job.data.backend ?? undefined;
    const progress: RunProgress = {
      worker: me,
      backend: backend ?? 'auto',
      startedAt: new Date().toISOString(),
    };
    await job.updateProgress(progress as unknown as object);
    log(`start   ${planned.id}`);
    const all = new Map<string, PlannedJob>(deps.map((d) => [d.id, { ...planned, ...d }]));
    const r = await runJob(planned, all, { bin: o.bin, env: backend ? { SKINGAN_BACKEND: backend } : {} });
    if (r.status === 'failed') {
      await job.updateProgress({ ...progress, log: r.log } as unknown as object);
      log(`FAILED  ${planned.id}: ${r.error}\n        log: ${r.log}`);
      throw new UnrecoverableError(`${r.error} (log: ${r.log})`);
    }
    log(`${r.status === 'done' ? 'done   ' : 'reused '} ${planned.id} (${(r.ms / 1000).toFixed(1)} s)`);
    return {
      status: r.status,
      host: r.host ?? hostname(),
      backend: r.backend ?? backend ?? 'auto',
      ms: r.ms,
      log: r.log,
    };
  };

  const worker = new Worker<QueueData>(
    QUEUE_NAME,
    async (job, token) =>
      job.data.kind === 'gate' ? gate(job as Job<GateData>, token) : run(job as Job<RunData>),
    {
      connection,
      concurrency: o.concurrency,
      name: me,
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.round(lockMs / 2)),
      // A job found stalled twice (two workers died on it) fails instead of going round forever.
      maxStalledCount: 2,
    },
  );
  worker.on('error', (e) => log(`worker error: ${e.message}`));
  await worker.waitUntilReady();
  log(`worker ${me}: ${o.concurrency} at a time on ${target.display} (queue "${QUEUE_NAME}")`);
  return {
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}
