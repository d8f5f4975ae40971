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
  /** Ids of jobs whose outputs this job reads (they run first). */
  deps: string[];
  /**
   * What the result depends on besides its args: the content of the data it reads (dataset or
   * split-part fingerprints), config values. Together with the args, the code and the keys of
   * `keyDeps` it makes the cache key.
   */
  inputs?: Record<string, unknown>;
  /**
   * Deps whose keys enter this job's key; default all `deps`. A job whose `inputs` hold the
   * content it reads of a dep (e.g. the fingerprint of the split's train part) leaves that dep
   * out, so a change to the dep that does not touch what the job reads does not rerun it.
   */
  keyDeps?: string[];
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
 * A job's cache key: a hash of its args, inputs, stdout file, the code that runs it and its key
 * deps' keys (`[id, key]` pairs). Stable across processes and machines; 12 hex digits.
 */
function jobKey(job: Job, depKeys: [string, string][], code: string): string {
  return createHash('sha256')
    .update(
      JSON.stringify({
        args: job.args,
        inputs: job.inputs ?? {},
        deps: depKeys,
        stdout: job.stdoutFile ?? null,
        code,
      }),
    )
    .digest('hex')
    .slice(0, 12);
}

/**
 * Resolves each job's cache key (`jobKey`: a changed config, input or code recomputes exactly the
 * jobs it affects and everything downstream) and folder. `code` identifies the code that runs the
 * jobs (`codeFingerprint()`).
 */
export function planJobs(jobs: Job[], experimentDir: string, code = ''): PlannedJob[] {
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
    for (const d of job.deps) keyOf(d); // checks the whole graph, key deps or not
    const keyDeps = job.keyDeps ?? job.deps;
    const stray = keyDeps.find((d) => !job.deps.includes(d));
    if (stray) throw new Error(`job ${id}: key dependency "${stray}" is not among its deps`);
    const key = jobKey(
      job,
      keyDeps.map((d) => [d, keyOf(d)]),
      code,
    );
    visiting.delete(id);
    keys.set(id, key);
    return key;
  };
  return jobs.map((j) => {
    const key = keyOf(j.id);
    return { ...j, key, out: `${experimentDir}/jobs/${j.id}-${key}` };
  });
}

/** Replaces each `{job:ID}` placeholder in an argument with `replace(ID)`. */
export function replaceJobRefs(arg: string, replace: (id: string) => string): string {
  return arg.replace(/\{job:([^}]+)\}/g, (_, id: string) => replace(id));
}

/** Replaces `{out}` and `{job:ID}` placeholders in a job's args with folders. */
export function resolveArgs(job: PlannedJob, all: Map<string, PlannedJob>): string[] {
  return job.args.map((a) =>
    replaceJobRefs(a.replaceAll('{out}', job.out), (id) => {
      const dep = all.get(id);
      if (!dep) throw new Error(`job ${job.id} refers to unknown job ${id}`);
      return dep.out;
    }),
  );
}
