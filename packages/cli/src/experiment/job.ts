import { createHash } from 'node:crypto';

/**
 * One unit of experiment work: a `skingan` command with its inputs and the folder it writes.
 * Jobs are plain data, so a runner other than the local process pool (a cluster queue, a remote
 * machine) can execute the same list.
 */
export interface Job {
  /** Unique within an experiment, e.g. `cyclegan/MEL`. */
  id: string;
  /** The stage it belongs to, for progress and logs ('acgan', 'classifier', ...). */
  stage: string;
  /** `skingan` arguments, without the program name. `{out}` is replaced by the job's folder. */
  args: string[];
  /** Ids of jobs whose outputs this job reads. */
  deps: string[];
  /**
   * Anything else the result depends on (config values, dataset fingerprints). Together with the
   * args and the deps' keys it makes the cache key.
   */
  inputs?: Record<string, unknown>;
  /** The command continues a partial output folder when given this flag (training commands). */
  resumeFlag?: string;
  /** Write the command's stdout to this file in the job folder (e.g. `eval.json`). */
  stdoutFile?: string;
}

/** A job with its cache key and output folder resolved. */
export interface PlannedJob extends Job {
  key: string;
  /** Absolute output folder: `<experiment>/jobs/<id>-<key>`. */
  out: string;
}

/**
 * Resolves each job's cache key (a hash of its args, inputs and its dependencies' keys, so a
 * changed config recomputes exactly the jobs it affects and everything downstream) and folder.
 */
export function planJobs(jobs: Job[], experimentDir: string): PlannedJob[] {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  if (byId.size !== jobs.length) throw new Error('duplicate job ids');
  const keys = new Map<string, string>();
  const visiting = new Set<string>();
  const keyOf = (id: string): string => {
    const done = keys.get(id);
    if (done) return done;
    const job = byId.get(id);
    if (!job) throw new Error(`unknown job dependency "${id}"`);
    if (visiting.has(id)) throw new Error(`dependency cycle at "${id}"`);
    visiting.add(id);
    const depKeys = job.deps.map((d) => [d, keyOf(d)]);
    const key = createHash('sha256')
      .update(
        JSON.stringify({
          args: job.args,
          inputs: job.inputs ?? {},
          deps: depKeys,
          stdout: job.stdoutFile ?? null,
        }),
      )
      .digest('hex')
      .slice(0, 12);
    visiting.delete(id);
    keys.set(id, key);
    return key;
  };
  return jobs.map((j) => {
    const key = keyOf(j.id);
    return { ...j, key, out: `${experimentDir}/jobs/${j.id}-${key}` };
  });
}

/** Replaces `{out}` and `{job:ID}` placeholders in a job's args with folders. */
export function resolveArgs(job: PlannedJob, all: Map<string, PlannedJob>): string[] {
  return job.args.map((a) =>
    a.replaceAll('{out}', job.out).replace(/\{job:([^}]+)\}/g, (_, id: string) => {
      const dep = all.get(id);
      if (!dep) throw new Error(`job ${job.id} refers to unknown job ${id}`);
      return dep.out;
    }),
  );
}
