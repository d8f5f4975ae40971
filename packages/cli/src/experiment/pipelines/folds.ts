import type { DataKeys } from '../data-keys.js';
import { type Job, replaceJobRefs } from '../job.js';
import { type ExperimentPlan, REAL_FEATURES } from './common.js';

/** `fold-2/`: the prefix of fold 2's job ids (and so of its job folders, `jobs/fold-2/…`). */
const foldPrefix = (fold: number) => `fold-${fold}/`;

/** A job id's fold and its id within the fold's plan: `fold-2/acgan` → { fold: 2, id: 'acgan' }. */
export function foldOfJob(id: string): { fold?: number; id: string } {
  const m = /^fold-(\d+)\/(.+)$/.exec(id);
  return m ? { fold: Number(m[1]), id: m[2]! } : { id };
}

/**
 * The plan of a K-fold experiment: `build` makes the plan of one split from its keys (`keys[k]`
 * made from fold k's split, whose `fold` makes the split job write that fold); with one split it
 * is the plan itself. With K ≥ 2 every fold gets the whole pipeline under `fold-k/` ids, because
 * a generator trained on fold k's train part has seen the other folds' test images: it may only be
 * scored on fold k's test part. The rows (sets) are the folds' common rows; each cell says its
 * fold, so a row pools K × repeats runs, paired across rows by (fold, seed).
 */
export function foldedPlan(
  keys: readonly DataKeys[],
  build: (keys: DataKeys) => ExperimentPlan,
): ExperimentPlan {
  if (keys.length === 1) return build(keys[0]!);
  const plans = keys.map((k, fold) => inFold(build(k), fold));
  const first = plans[0]!;
  const rows = first.sets.map((s) => s.slug).join();
  const odd = plans.findIndex((p) => p.sets.map((s) => s.slug).join() !== rows);
  if (odd >= 0) throw new Error(`fold ${odd} plans other rows than fold 0`);
  return {
    ...first,
    jobs: plans.flatMap((p, k) => (k === 0 ? p.jobs : p.jobs.filter((j) => j.id !== REAL_FEATURES))),
    cells: plans.flatMap((p) => p.cells),
    ganMetricJobs: plans.flatMap((p) => p.ganMetricJobs),
    // The sample sheets show fold 0's images: one sheet per class is enough to see the generators.
    sampleJobs: first.sampleJobs,
  };
}

/** A one-split plan as fold `fold` of a K-fold plan: its job ids prefixed, its cells marked. */
function inFold(plan: ExperimentPlan, fold: number): ExperimentPlan {
  // The real images' features are the same in every fold: one job, shared (`foldedPlan` keeps one).
  const id = (j: string) => (j === REAL_FEATURES ? j : `${foldPrefix(fold)}${j}`);
  const job = (j: Job): Job => ({
    ...j,
    id: id(j.id),
    args: j.args.map((a) => replaceJobRefs(a, (ref) => `{job:${id(ref)}}`)),
    deps: j.deps.map(id),
    ...(j.keyDeps ? { keyDeps: j.keyDeps.map(id) } : {}),
  });
  return {
    ...plan,
    jobs: plan.jobs.map(job),
    // A set's addJobs stay ids within a fold's plan: the row is the same in every fold.
    cells: plan.cells.map((c) => ({ ...c, fold, trainJob: id(c.trainJob), predictJob: id(c.predictJob) })),
    ganMetricJobs: plan.ganMetricJobs.map((g) => ({ ...g, job: id(g.job), fold })),
    sampleJobs: plan.sampleJobs.map((s) => ({ ...s, job: id(s.job) })),
  };
}
