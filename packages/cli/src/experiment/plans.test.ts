import { describe, expect, it } from 'vitest';
import { resolveExperimentConfig } from './config.js';
import type { DataKeys } from './data-keys.js';
import { planJobs } from './job.js';
import { noise2imgPlan } from './pipelines/noise2img.js';
import { nv2melPlan } from './pipelines/nv2mel.js';

/** Data identities by hand: each (part, class) fingerprint is a name, `changed` marks some changed. */
function fakeKeys(changed: { data?: boolean; parts?: string[] } = {}): DataKeys {
  return {
    data: changed.data ? 'data-2' : 'data-1',
    part: (part, classes = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC']) =>
      classes.map((c) => `${part}/${c}${changed.parts?.includes(`${part}/${c}`) ? "'" : ''}`).join('+'),
  };
}

describe('experiment config', () => {
  it('layers preset < file < overrides, and names bad fields', async () => {
    const c = await resolveExperimentConfig('test', undefined, { repeats: 3 });
    expect(c).toMatchObject({ preset: 'test', repeats: 3, n: [4, 8], extractor: 'test' });
    await expect(resolveExperimentConfig('huge')).rejects.toThrow(/unknown preset "huge"/);
    await expect(resolveExperimentConfig('test', undefined, { repeats: 0 })).rejects.toThrow(
      /invalid experiment config: repeats/,
    );
    const thesis = await resolveExperimentConfig('thesis');
    expect(thesis.n).toEqual([250, 500, 1000, 2000, 3000]);
    expect(thesis.alphas).toEqual([1 / 8, 1 / 4, 1 / 2, 1]);
    expect(thesis.nMel).toEqual([500, 1000, 2000, 3000, 4000, 5000, 6000, 7000]);
  });
});

describe('noise2img plan', () => {
  it('has every stage the thesis runs, nested sets, and one classifier per set and seed', async () => {
    const config = await resolveExperimentConfig('test', undefined, { repeats: 2 });
    const plan = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV', 'BCC']);
    const ids = plan.jobs.map((j) => j.id);
    for (const id of [
      'split',
      'acgan',
      'acgan-samples',
      'real-test',
      'cyclegan/MEL',
      'translate/BCC',
      'acgan-4',
      'cyclegan-8',
      'fid/acgan',
      'kid/cyclegan',
    ]) {
      expect(ids).toContain(id);
    }
    expect(plan.sets.map((s) => s.label)).toEqual([
      'ISIC-0',
      'acgan-4',
      'cyclegan-4',
      'acgan-8',
      'cyclegan-8',
    ]);
    expect(plan.cells).toHaveLength(5 * 2);
    // The ACGAN draws enough for the largest N and the CycleGAN's training images.
    const sample = plan.jobs.find((j) => j.id === 'acgan-samples')!;
    expect(sample.args[sample.args.indexOf('--per-class') + 1]).toBe('8');
    // cyclegan-N takes the first N per class of every class's translations: nested in N.
    const cg8 = plan.jobs.find((j) => j.id === 'cyclegan-8')!;
    expect(cg8.deps).toEqual(['translate/MEL', 'translate/NV', 'translate/BCC']);
    expect(cg8.args).toContain('--per-class');
    // The GANs' training evaluations use the experiment's feature network (test, in this preset).
    for (const id of ['acgan', 'cyclegan/MEL']) {
      const args = plan.jobs.find((j) => j.id === id)!.args.join(' ');
      expect(args).toContain('--eval-extractor test');
    }
    // Test ids never reach training: classifiers train on the split's train part plus synthetic sets.
    const train = plan.jobs.find((j) => j.id === 'classifier/acgan-8/seed-7001')!;
    expect(train.args.join(' ')).toMatch(/--split \{job:split\}\/split\.json .*--add \{job:acgan-8\}\/data/);
    const predict = plan.jobs.find((j) => j.id === 'predict/acgan-8/seed-7001')!;
    expect(predict.args.join(' ')).toContain('--part test');
    expect(() => planJobs(plan.jobs, '/e')).not.toThrow();
  });

  it('changes only the keys of jobs a config change affects', async () => {
    const a = planJobs(
      noise2imgPlan(['/d'], await resolveExperimentConfig('test'), fakeKeys(), ['MEL', 'NV']).jobs,
      '/e',
    );
    const changed = await resolveExperimentConfig('test', undefined, {
      classifier: { preset: 'test', size: 32, epochs: 2 },
    } as never);
    const b = planJobs(noise2imgPlan(['/d'], changed, fakeKeys(), ['MEL', 'NV']).jobs, '/e');
    const key = (jobs: typeof a, id: string) => jobs.find((j) => j.id === id)!.key;
    expect(key(b, 'acgan')).toBe(key(a, 'acgan'));
    expect(key(b, 'cyclegan/MEL')).toBe(key(a, 'cyclegan/MEL'));
    expect(key(b, 'classifier/isic-0/seed-7000')).not.toBe(key(a, 'classifier/isic-0/seed-7000'));
    expect(key(b, 'predict/isic-0/seed-7000')).not.toBe(key(a, 'predict/isic-0/seed-7000'));
  });
});

describe('job keys', () => {
  const plan = async (keys: DataKeys, code = 'skingan@1') =>
    planJobs(
      noise2imgPlan(['/d'], await resolveExperimentConfig('test'), keys, ['MEL', 'NV']).jobs,
      '/e',
      code,
    );
  const rerun = (a: Awaited<ReturnType<typeof plan>>, b: typeof a) =>
    a.filter((j, i) => j.key !== b[i]!.key).map((j) => j.id);

  it('hold what each job reads: a relabelled val/test image reruns the split and classifiers, not the GANs', async () => {
    const before = await plan(fakeKeys());
    // One NV image moved from the test part to MEL's val part; the train part is as it was.
    const after = await plan(fakeKeys({ data: true, parts: ['test/NV', 'val/MEL'] }));
    expect(rerun(before, after)).toEqual([
      'split',
      'real-test',
      'classifier/isic-0/seed-7000',
      'predict/isic-0/seed-7000',
      'classifier/acgan-4/seed-7000',
      'predict/acgan-4/seed-7000',
      'classifier/cyclegan-4/seed-7000',
      'predict/cyclegan-4/seed-7000',
      'classifier/acgan-8/seed-7000',
      'predict/acgan-8/seed-7000',
      'classifier/cyclegan-8/seed-7000',
      'predict/cyclegan-8/seed-7000',
      'fid/acgan',
      'kid/acgan',
      'fid/cyclegan',
      'kid/cyclegan',
    ]);
  });

  it("a changed train image of one class reruns the ACGAN and all after it, and that class's real-train", async () => {
    const before = await plan(fakeKeys());
    const after = await plan(fakeKeys({ data: true, parts: ['train/MEL'] }));
    const ids = rerun(before, after);
    expect(ids).toContain('acgan');
    expect(ids).toContain('cyclegan/NV'); // its ACGAN images changed
    expect(ids).toContain('real-train/MEL');
    expect(ids).not.toContain('real-train/NV');
  });

  it('other code reruns every job', async () => {
    const a = await plan(fakeKeys());
    const b = await plan(fakeKeys(), 'skingan@1+dist.0123');
    expect(rerun(a, b)).toEqual(a.map((j) => j.id));
  });

  it('a key dependency must be a dependency', () => {
    expect(() =>
      planJobs(
        [
          { id: 'a', stage: 's', args: [], deps: [], keyDeps: ['b'] },
          { id: 'b', stage: 's', args: [], deps: [] },
        ],
        '/e',
      ),
    ).toThrow('job a: key dependency "b" is not among its deps');
  });
});

describe('nv2mel plan', () => {
  it('filters MEL per α with the ISIC-0 classifier, translates NV, and caps N at the NV images', async () => {
    const config = await resolveExperimentConfig('test');
    const plan = nv2melPlan(['/d'], config, fakeKeys(), 12);
    expect(plan.sets.map((s) => s.label)).toEqual([
      'ISIC-0',
      'α=0.25 N=8',
      'α=0.25 N=12',
      'α=1 N=8',
      'α=1 N=12',
    ]);
    const prf = plan.jobs.find((j) => j.id === 'prf/0.25')!;
    expect(prf.deps).toContain('classifier/isic-0/seed-7000');
    expect(prf.args.join(' ')).toMatch(/--class MEL --alpha 0\.25/);
    const translate = plan.jobs.find((j) => j.id === 'translate/1')!;
    expect(translate.args.join(' ')).toMatch(/--class NV --label MEL/);
    // Every α adds the first N of its translations of the same NV train images.
    expect(plan.jobs.find((j) => j.id === 'mel-8/1')!.args).toEqual([
      'data',
      'subset',
      '{job:translate/1}/data',
      '--out',
      '{out}/data',
      '--per-class',
      '8',
    ]);
  });
});
