import { type Job, Queue } from 'bullmq';
import type { ExperimentManifest } from '../manifest.js';
import { doneStatus } from '../runner.js';
import { experimentTag, failedChildId, openRedis, QUEUE_NAME, queueJobId } from './connection.js';
import type { RunProgress } from './worker.js';

export type QueueJobState = 'done' | 'running' | 'waiting' | 'failed';

export interface QueueJobStatus {
  id: string;
  state: QueueJobState;
  /** done: where it ran; running: which worker. */
  worker?: string;
  backend?: string;
  seconds?: number;
  error?: string;
  log?: string;
}

/**
 * Each job of an experiment as the queue and the folder see it: done (its output is on disk),
 * running (on which worker), waiting (for a worker or its dependencies), failed (why, and its log).
 * A job the queue does not hold and that has no output is waiting (for a submitter to add it).
 */
export async function queueStatus(
  url: string,
  dir: string,
  m: ExperimentManifest,
): Promise<QueueJobStatus[]> {
  const queue = new Queue(QUEUE_NAME, { connection: (await openRedis(url)).connection });
  try {
    const tag = experimentTag(dir);
    const names = new Map(m.jobs.map((j) => [queueJobId(tag, j.key), j.id]));
    // A dependency's failure → "needs <job>" (a gate's id holds the id of the job it waited for).
    const reason = (r: string) => {
      const id = failedChildId(r);
      const waited = id && /^(.+)-for-[0-9a-f]+$/.exec(id)?.[1];
      return id ? `needs ${names.get(id) ?? names.get(waited ?? '') ?? id}` : r;
    };
    const out: QueueJobStatus[] = [];
    for (const j of m.jobs) {
      const done = await doneStatus(j);
      if (done) {
        out.push(done);
        continue;
      }
      const job = (await queue.getJob(queueJobId(tag, j.key))) as Job | undefined;
      const state = job ? await job.getState() : 'unknown';
      const progress = (job?.progress ?? {}) as Partial<RunProgress>;
      if (state === 'active') {
        out.push({ id: j.id, state: 'running', ...(progress.worker ? { worker: progress.worker } : {}) });
      } else if (state === 'failed') {
        out.push({
          id: j.id,
          state: 'failed',
          error: reason(job?.failedReason ?? 'failed'),
          ...(progress.log ? { log: progress.log } : {}),
        });
      } else out.push({ id: j.id, state: 'waiting' });
    }
    return out;
  } finally {
    await queue.close();
  }
}
