import { describe, expect, it } from 'vitest';
import { type Job, planJobs } from '../job.js';
import { type FlowNode, planFlows } from './flow.js';

const tree = (n: FlowNode): unknown => (n.children ? { [n.name]: n.children.map(tree) } : n.name);

describe('planFlows', () => {
  const jobs: Job[] = [
    { id: 'a', stage: 's', args: ['a'], deps: [] },
    { id: 'b', stage: 's', args: ['b'], deps: ['a'] },
    { id: 'c', stage: 's', args: ['c'], deps: ['a'] },
    { id: 'd', stage: 's', args: ['d'], deps: ['b', 'c'] },
    { id: 'e', stage: 's', args: ['e'], deps: [] },
  ];
  const planned = planJobs(jobs, '/exp');
  const key = (id: string) => planned.find((j) => j.id === id)!.key;
  const ctx = { experiment: '/exp', tag: 't', backend: null };

  it('makes a job the child of the first job that needs it, and gives every other one a gate', () => {
    const plan = planFlows(planned, () => false, ctx);
    expect(plan.roots.map(tree)).toEqual([{ d: [{ b: ['a'] }, { c: ['wait:a'] }] }, 'e']);
    const gate = plan.roots[0]!.children![1]!.children![0]!;
    expect(gate.opts.jobId).toBe(`t-${key('a')}-for-${key('c')}`);
    expect(gate.data).toEqual({
      kind: 'gate',
      experiment: '/exp',
      waitFor: { jobId: `t-${key('a')}`, id: 'a', key: key('a'), out: `/exp/jobs/a-${key('a')}` },
    });
    expect(plan.parentOf.get(`t-${key('a')}`)).toBe(`t-${key('b')}`);
    expect(plan.parentOf.get(gate.opts.jobId)).toBe(`t-${key('c')}`);
    expect(plan.parentOf.get(`t-${key('d')}`)).toBeUndefined();
    expect(plan.names.get(gate.opts.jobId)).toBe('a');
    // Roots do not fail a parent; every child does, so a failure reaches what needs it. Run once.
    expect(plan.roots[0]!.opts).toMatchObject({ attempts: 1, failParentOnFailure: false });
    expect(plan.roots[0]!.children![0]!.opts).toMatchObject({ attempts: 1, failParentOnFailure: true });
  });

  it('leaves finished jobs out, with the edges and gates to them', () => {
    const plan = planFlows(planned, (id) => id === 'a' || id === 'b', ctx);
    expect(plan.roots.map(tree)).toEqual([{ d: ['c'] }, 'e']);
    const d = plan.roots[0]!.data;
    expect(d.kind === 'run' && d.deps.map((x) => x.id)).toEqual(['b', 'c']);
  });
});
