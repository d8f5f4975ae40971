import type { PlannedJob } from '../job.js';
import { gateJobId, QUEUE_NAME, queueJobId } from './connection.js';

/** What a worker gets: the job, the experiment folder it must see, its dependencies' folders. */
export interface RunData {
  kind: 'run';
  experiment: string;
  job: PlannedJob;
  deps: Pick<PlannedJob, 'id' | 'key' | 'out'>[];
  /** The submitter's --backend, used by workers started without one. */
  backend: string | null;
}

/** Waits for a dependency that is another job's child (a BullMQ job has only one parent). */
export interface GateData {
  kind: 'gate';
  experiment: string;
  /** The BullMQ id of the job waited for, and its planned identity. */
  waitFor: { jobId: string; id: string; key: string; out: string };
}

export type QueueData = RunData | GateData;

/** The shape FlowProducer.addBulk takes (kept here so planning needs no BullMQ import). */
export interface FlowNode {
  name: string;
  queueName: string;
  data: QueueData;
  opts: {
    jobId: string;
    attempts: number;
    failParentOnFailure: boolean;
    removeOnComplete: false;
    removeOnFail: false;
  };
  children?: FlowNode[];
}

/** One node per job, and whose child it is (undefined: a root). */
interface FlowPlan {
  roots: FlowNode[];
  /** BullMQ job id → the BullMQ id of its parent (none for roots). */
  parentOf: Map<string, string | undefined>;
  /** BullMQ job id → planned job id (gates: the job they wait for). */
  names: Map<string, string>;
}

/**
 * Turns the job graph into BullMQ flows. BullMQ flows are trees, the graph is not (every classifier
 * needs `split`): each job becomes the child of the first unfinished job that needs it, and every
 * other job that needs it gets a small gate child that completes once it has. A gate that finds it
 * failed fails, and `failParentOnFailure` fails what needed it. Finished jobs (`done`) are left out.
 */
export function planFlows(
  jobs: PlannedJob[],
  done: (id: string) => boolean,
  ctx: { experiment: string; tag: string; backend: string | null },
): FlowPlan {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const todo = jobs.filter((j) => !done(j.id));
  const treeParent = new Map<string, string>();
  for (const j of todo) {
    for (const d of j.deps) if (!done(d) && !treeParent.has(d)) treeParent.set(d, j.id);
  }
  const idOf = (j: PlannedJob) => queueJobId(ctx.tag, j.key);
  const parentOf = new Map<string, string | undefined>();
  const names = new Map<string, string>();
  const opts = (jobId: string, root: boolean) => ({
    jobId,
    attempts: 1,
    failParentOnFailure: !root,
    removeOnComplete: false as const,
    removeOnFail: false as const,
  });
  const node = (j: PlannedJob): FlowNode => {
    const jobId = idOf(j);
    names.set(jobId, j.id);
    const children: FlowNode[] = [];
    for (const d of j.deps) {
      if (done(d)) continue;
      const dep = byId.get(d)!;
      if (treeParent.get(d) === j.id) {
        children.push(node(dep));
        parentOf.set(idOf(dep), jobId);
        continue;
      }
      const gateId = gateJobId(ctx.tag, dep.key, j.key);
      names.set(gateId, d);
      parentOf.set(gateId, jobId);
      children.push({
        name: `wait:${d}`,
        queueName: QUEUE_NAME,
        data: {
          kind: 'gate',
          experiment: ctx.experiment,
          waitFor: { jobId: idOf(dep), id: d, key: dep.key, out: dep.out },
        },
        opts: opts(gateId, false),
      });
    }
    return {
      name: j.id,
      queueName: QUEUE_NAME,
      data: {
        kind: 'run',
        experiment: ctx.experiment,
        job: j,
        deps: j.deps.map((d) => {
          const dep = byId.get(d)!;
          return { id: dep.id, key: dep.key, out: dep.out };
        }),
        backend: ctx.backend,
      },
      opts: opts(jobId, !treeParent.has(j.id)),
      ...(children.length ? { children } : {}),
    };
  };
  const roots = todo.filter((j) => !treeParent.has(j.id)).map(node);
  for (const r of roots) parentOf.set(r.opts.jobId, undefined);
  return { roots, parentOf, names };
}
