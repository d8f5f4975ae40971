import { SkinganError } from '@skingan/core';
import { FlowProducer, type Job, Queue } from 'bullmq';
import type { PlannedJob } from '../job.js';
import { type JobResult, type RunnerEvent, readJobMarker, skippedResult } from '../runner.js';
import { experimentTag, failedChildId, openRedis, QUEUE_NAME, queueJobId } from './connection.js';
import { type FlowNode, planFlows } from './flow.js';
import type { RunProgress, RunReturn } from './worker.js';

interface SubmitOptions {
  url: string;
  experiment: string;
  backend: string | null;
  onEvent?: (e: RunnerEvent) => void;
  /** Progress lines (e.g. that no worker is connected yet). */
  log?: (line: string) => void;
  /** How often the submitter looks at the jobs' states. */
  pollMs?: number;
  /**
   * Stops the waiting (not the jobs: they belong to the workers): the unsettled jobs are returned
   * as `skipped`, and the same command with --resume re-attaches to them.
   */
  signal?: AbortSignal;
}

/**
 * Puts an experiment's unfinished jobs on the queue as BullMQ flows and waits until every one has
 * completed or failed. Adding is idempotent (job ids are cache keys): a rerun after Ctrl-C
 * re-attaches to the jobs already there; jobs that failed, or completed without an output on disk,
 * are taken off first so the rerun runs them again. Workers do the work (`skingan worker`).
 */
export async function runJobsOnQueue(jobs: PlannedJob[], o: SubmitOptions): Promise<JobResult[]> {
  const { target, connection } = await openRedis(o.url);
  const queue = new Queue(QUEUE_NAME, { connection });
  const producer = new FlowProducer({ connection });
  try {
    const results = new Map<string, JobResult>();
    for (const j of jobs) {
      const m = await readJobMarker(j);
      if (m) results.set(j.id, { id: j.id, status: 'reused', out: j.out, log: `${j.out}/job.log`, ...m });
    }
    const tag = experimentTag(o.experiment);
    const flows = planFlows(jobs, (id) => results.has(id), {
      experiment: o.experiment,
      tag,
      backend: o.backend,
    });
    await clearStale(queue, flows.roots, flows.parentOf);
    if (flows.roots.length) await producer.addBulk(flows.roots as Parameters<FlowProducer['addBulk']>[0]);
    if (flows.roots.length && (await queue.getWorkers()).length === 0) {
      o.log?.(
        `no worker is connected to ${target.display} yet: start \`skingan worker --queue URL\` on machines that see ${o.experiment}`,
      );
    }

    let finished = 0;
    const finish = (job: PlannedJob, result: JobResult) => {
      results.set(job.id, result);
      finished++;
      o.onEvent?.({ type: 'end', job, result, finished, total: jobs.length });
    };
    for (const j of jobs) {
      const r = results.get(j.id);
      if (r) finish(j, r);
    }
    const jobIdOf = (j: PlannedJob) => queueJobId(tag, j.key);
    const started = new Set<string>();
    const pending = jobs.filter((j) => !results.has(j.id));
    // Until every job has settled; each round is a few Redis reads per unfinished job.
    while (pending.length && !o.signal?.aborted) {
      const states = await Promise.all(pending.map((j) => queue.getJobState(jobIdOf(j))));
      for (let i = pending.length - 1; i >= 0; i--) {
        const j = pending[i]!;
        const state = states[i];
        if (state === 'active' && !started.has(j.id)) {
          started.add(j.id);
          o.onEvent?.({
            type: 'start',
            job: j,
            running: [...started].filter((id) => !results.has(id)).length,
          });
        }
        if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue;
        pending.splice(i, 1);
        finish(j, await settled(queue, j, jobIdOf(j), flows.names));
      }
      if (pending.length) await sleep(o.pollMs ?? 1000, o.signal);
    }
    // Stopped (Ctrl-C, SIGTERM): only the waiting here; the jobs belong to the workers now.
    if (pending.length) {
      o.log?.(
        'stopped waiting: the workers go on with the queued jobs; rerun the same command with --resume to re-attach',
      );
    }
    for (const j of pending) {
      const error = 'not waited for: the workers go on with it; --resume re-attaches';
      results.set(j.id, skippedResult(j, error));
    }
    return jobs.map((j) => results.get(j.id)!);
  } finally {
    await producer.close();
    await queue.close();
  }
}

/** A settled BullMQ job as the local runner would report it. */
async function settled(
  queue: Queue,
  j: PlannedJob,
  jobId: string,
  names: Map<string, string>,
): Promise<JobResult> {
  const job = (await queue.getJob(jobId)) as Job | undefined;
  const base = { id: j.id, out: j.out };
  if (!job)
    return { ...base, status: 'failed', log: '', ms: 0, error: 'taken off the queue before it finished' };
  if (job.returnvalue && job.finishedOn && !job.failedReason) {
    const r = job.returnvalue as RunReturn;
    return { ...base, status: r.status, log: r.log, ms: r.ms, host: r.host, backend: r.backend };
  }
  const reason = job.failedReason ?? 'failed';
  const child = failedChildId(reason);
  if (child) return skippedResult(j, `needs ${names.get(child) ?? child}`);
  const progress = (job.progress ?? {}) as Partial<RunProgress>;
  return {
    ...base,
    status: 'failed',
    log: progress.log ?? '',
    ms: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : 0,
    error: reason,
    ...(progress.worker ? { host: progress.worker, backend: progress.backend } : {}),
  };
}

/**
 * Takes off the queue what a rerun must run again: jobs (and gates) that failed, or completed but
 * whose output is gone, and jobs still waiting under another parent (an earlier plan). Parents go
 * before their children, so no parent is released early. A running job of an earlier plan cannot be
 * moved: that is an error to wait out.
 */
async function clearStale(
  queue: Queue,
  roots: FlowNode[],
  parentOf: Map<string, string | undefined>,
): Promise<void> {
  const prefix = `bull:${QUEUE_NAME}:`;
  const order: FlowNode[] = [];
  const walk = (n: FlowNode) => {
    order.push(n);
    for (const c of n.children ?? []) walk(c);
  };
  roots.forEach(walk);
  for (const n of order) {
    const id = n.opts.jobId;
    const job = (await queue.getJob(id)) as Job | undefined;
    if (!job) continue;
    const state = await job.getState();
    const expected = parentOf.get(id);
    const sameParent = (job.parentKey ?? undefined) === (expected ? `${prefix}${expected}` : undefined);
    if (state === 'active') {
      if (sameParent) continue;
      throw new SkinganError(`job ${n.name} of an earlier plan of this experiment is still running`, {
        hint: 'rerun when it has finished (`skingan experiment status --queue URL DIR` shows it)',
      });
    }
    // A deferred failure: a child failed and the parent fails as soon as a worker picks it up.
    const doomed = Boolean((job as Job & { deferredFailure?: string }).deferredFailure);
    if (state === 'failed' || state === 'completed' || doomed || !sameParent) {
      await queue.remove(id, { removeChildren: false });
    }
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
