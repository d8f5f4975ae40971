import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SkinganError } from '@skingan/core';
import type { SplitPart } from '@skingan/data';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type ExperimentConfig, resolveExperimentConfig } from './config.js';
import { type DataKeys, type LesionKey, lesionKey } from './data-keys.js';
import { planJobs } from './job.js';
import { describeClassifiers, describeSplit, sizeMismatch } from './pipelines/common.js';
import { foldedPlan } from './pipelines/folds.js';
import { noise2imgPlan } from './pipelines/noise2img.js';
import { nv2melPlan } from './pipelines/nv2mel.js';

/** Data identities by hand: each (part, class) fingerprint is a name, `changed` marks some changed. */
function fakeKeys(changed: { data?: boolean; parts?: string[] } = {}, lesions?: LesionKey): DataKeys {
  return {
    ...(lesions ? { lesions } : {}),
    data: changed.data ? 'data-2' : 'data-1',
    part: (part, classes = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC']) =>
      classes.map((c) => `${part}/${c}${changed.parts?.includes(`${part}/${c}`) ? "'" : ''}`).join('+'),
  };
}

/** The keys of each fold of a K-fold split: its part fingerprints name the fold (their content differs). */
function foldKeys(count: number, lesions?: LesionKey): DataKeys[] {
  return Array.from({ length: count }, (_, index) => ({
    ...fakeKeys({}, lesions),
    fold: { count, index },
    part: (part: SplitPart, classes?: readonly string[]) => `f${index}:${fakeKeys().part(part, classes)}`,
  }));
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

  it("a changed train image of one class reruns the ACGAN and all after it, and that class's CycleGAN input", async () => {
    const before = await plan(fakeKeys());
    const after = await plan(fakeKeys({ data: true, parts: ['train/MEL'] }));
    const ids = rerun(before, after);
    expect(ids).toContain('acgan');
    expect(ids).toContain('cyclegan/NV'); // its ACGAN images changed
    expect(ids).toContain('cyclegan-real/MEL');
    expect(ids).not.toContain('cyclegan-real/NV');
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

describe('split by lesion', () => {
  const HAM = { files: ['ham10000_metadata.csv'], hash: 'meta-1' };

  it('where the data has lesion metadata the split job groups by lesion and the plan says so', async () => {
    const config = await resolveExperimentConfig('test');
    for (const plan of [
      noise2imgPlan(['/d'], config, fakeKeys({}, HAM), ['MEL', 'NV']),
      nv2melPlan(['/d'], config, fakeKeys({}, HAM), 12),
    ]) {
      const split = plan.jobs.find((j) => j.id === 'split')!;
      expect(split.args).toEqual([
        'data',
        'split',
        '/d',
        '--seed',
        '7',
        '--fractions',
        '0.8,0.1,0.1',
        '--group-by',
        'lesion_id',
        '--out',
        '{out}/split.json',
      ]);
      expect(split.inputs).toEqual({ data: 'data-1', lesions: 'meta-1' });
      expect(plan.split).toEqual({ by: 'lesion_id', metadata: ['ham10000_metadata.csv'] });
      expect(describeSplit(plan.split, config.seed)).toBe('by lesion (ham10000_metadata.csv), seed 7');
    }
    // Without metadata: by image, with the split job's key as it was before splits by lesion.
    const plain = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']);
    const split = plain.jobs.find((j) => j.id === 'split')!;
    expect(split.args).not.toContain('--group-by');
    expect(split.inputs).toEqual({ data: 'data-1' });
    expect(plain.split).toEqual({ by: 'image' });
    expect(describeSplit(plain.split, 7)).toBe('by image, seed 7');
    expect(describeSplit(undefined, 3)).toBe('by image, seed 3');
  });

  it('an edited metadata file reruns the split job, and what reads a part it changed', async () => {
    const config = await resolveExperimentConfig('test');
    const plan = (keys: DataKeys) => planJobs(noise2imgPlan(['/d'], config, keys, ['MEL', 'NV']).jobs, '/e');
    const rerun = (a: ReturnType<typeof plan>, b: typeof a) =>
      a.filter((j, i) => j.key !== b[i]!.key).map((j) => j.id);
    const before = plan(fakeKeys({}, HAM));
    // A lesion id corrected where it moves no image: only the split job itself.
    expect(rerun(before, plan(fakeKeys({}, { ...HAM, hash: 'meta-2' })))).toEqual(['split']);
    // One that moves an NV lesion from test to val: the split and whatever reads those parts.
    const moved = rerun(before, plan(fakeKeys({ parts: ['test/NV', 'val/NV'] }, { ...HAM, hash: 'meta-3' })));
    expect(moved).toContain('split');
    expect(moved).toContain('real-test');
    expect(moved).toContain('classifier/isic-0/seed-7000');
    expect(moved).not.toContain('acgan');
    // Splitting by lesion at all (metadata added to the folder) reruns the split.
    expect(rerun(plan(fakeKeys()), before)).toEqual(['split']);
  });

  it('lesionKey hashes the metadata bytes, not where the file lies', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-lesion-key-'));
    onTestFinished(() => fs.rm(dir, { recursive: true, force: true }));
    const a = join(dir, 'ham10000_metadata.csv');
    await fs.mkdir(join(dir, 'moved'));
    const b = join(dir, 'moved', 'ham10000_metadata.csv');
    await fs.writeFile(a, 'lesion_id,image_id\nHAM_1,ISIC_1\n');
    await fs.writeFile(b, 'lesion_id,image_id\nHAM_1,ISIC_1\n');
    const first = await lesionKey([a]);
    expect(first.files).toEqual(['ham10000_metadata.csv']);
    expect((await lesionKey([b])).hash).toBe(first.hash);
    await fs.writeFile(a, 'lesion_id,image_id\nHAM_2,ISIC_1\n');
    expect((await lesionKey([a])).hash).not.toBe(first.hash);
  });
});

describe('real-data baselines', () => {
  const flags = (args: string[]) => ({
    augment: args.includes('--augment') && !args.includes('--no-augment'),
    balance: args.includes('--balance') ? args[args.indexOf('--balance') + 1] : undefined,
  });

  it('noise2img plans real + augmentation and real + oversampling on the real train part, with the classifier flags', async () => {
    const config = await resolveExperimentConfig('test', undefined, {
      baselines: ['augment', 'oversample'],
      repeats: 2,
    });
    const plan = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']);
    expect(plan.sets.map((s) => s.label)).toEqual([
      'ISIC-0',
      'real + augmentation',
      'real + oversampling',
      'acgan-4',
      'cyclegan-4',
      'acgan-8',
      'cyclegan-8',
    ]);
    expect(plan.cells).toHaveLength(7 * 2);
    const train = (slug: string) => plan.jobs.find((j) => j.id === `classifier/${slug}/seed-7001`)!;
    expect(flags(train('isic-0').args)).toEqual({ augment: false, balance: undefined });
    expect(flags(train('real-augment').args)).toEqual({ augment: true, balance: undefined });
    expect(flags(train('real-oversample').args)).toEqual({ augment: false, balance: 'sampler' });
    expect(flags(train('acgan-8').args)).toEqual({ augment: false, balance: undefined });
    for (const slug of ['real-augment', 'real-oversample']) {
      // Real images only, keyed like ISIC-0 by the train and val parts.
      expect(train(slug).args).not.toContain('--add');
      expect(train(slug).inputs).toEqual(train('isic-0').inputs);
      expect(plan.jobs.find((j) => j.id === `predict/${slug}/seed-7001`)!.args).toContain('test');
    }
    const keys = planJobs(plan.jobs, '/e');
    const key = (id: string) => keys.find((j) => j.id === id)!.key;
    expect(
      new Set(['isic-0', 'real-augment', 'real-oversample'].map((s) => key(`classifier/${s}/seed-7000`)))
        .size,
    ).toBe(3);
  });

  it('nv2mel plans them beside ISIC-0, whose first seed still ranks MEL for the filter', async () => {
    const config = await resolveExperimentConfig('test', undefined, { baselines: ['oversample', 'augment'] });
    const plan = nv2melPlan(['/d'], config, fakeKeys(), 12);
    expect(plan.sets.map((s) => s.label).slice(0, 4)).toEqual([
      'ISIC-0',
      'real + oversampling',
      'real + augmentation',
      'α=0.25 N=8',
    ]);
    expect(plan.jobs.find((j) => j.id === 'prf/0.25')!.args).toContain(
      '{job:classifier/isic-0/seed-7000}/run',
    );
    const train = plan.jobs.find((j) => j.id === 'classifier/real-oversample/seed-7000')!;
    expect(flags(train.args)).toEqual({ augment: false, balance: 'sampler' });
  });

  it('none by default; "augment" when ISIC-0 already augments is a config error naming the way out', async () => {
    expect((await resolveExperimentConfig('test')).baselines).toEqual([]);
    expect((await resolveExperimentConfig('cpu')).baselines).toEqual([]);
    await expect(resolveExperimentConfig('cpu', undefined, { baselines: ['augment'] })).rejects.toThrow(
      'invalid experiment config: baselines "augment" is real + classic augmentation, but ISIC-0 already augments (classifier.augment is true)',
    );
    const ok = await resolveExperimentConfig('cpu', undefined, {
      baselines: ['augment', 'oversample'],
      classifier: { preset: 'cpu', size: 64, augment: false },
    } as never);
    expect(ok.baselines).toEqual(['augment', 'oversample']);
    await expect(
      resolveExperimentConfig('test', undefined, { baselines: ['mixup'] } as never),
    ).rejects.toThrow(/invalid experiment config: baselines/);
  });
});

describe('the fast path (classifier.method "head")', () => {
  const head = { preset: 'test', size: 32, method: 'head', extractor: 'test' } as never;

  it('noise2img: one head job per set and seed, reading the stored features, with its predictions path', async () => {
    const config = await resolveExperimentConfig('test', undefined, {
      classifier: head,
      baselines: ['oversample'],
      repeats: 3,
    });
    const plan = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']);
    expect(plan.jobs.some((j) => j.args[0] === 'classifier' && j.args[1] !== 'head')).toBe(false);
    expect(plan.cells).toHaveLength(plan.sets.length * 3);
    const cell = plan.cells.find((c) => c.set.label === 'acgan-8' && c.seed === 7002)!;
    expect(cell).toMatchObject({ trainJob: 'head/acgan-8/seed-7002', predictJob: 'head/acgan-8/seed-7002' });
    expect(cell.predictions).toBe('head/predictions.csv');
    const job = plan.jobs.find((j) => j.id === 'head/acgan-8/seed-7002')!;
    expect(job.args.join(' ')).toBe(
      'classifier head --data /d --split {job:split}/split.json --extractor test --size 32 --seed 7002 --balance none --out {out}/head --add {job:acgan-8}/data --classes MEL,NV --epochs 1',
    );
    expect(job.deps).toEqual(['split', 'acgan-8', 'features/real', 'features/acgan/acgan-8']);
    expect(job.inputs).toEqual({
      train: 'train/MEL+train/NV',
      val: 'val/MEL+val/NV',
      test: 'test/MEL+test/NV',
    });
    const balance = (slug: string) => {
      const a = plan.jobs.find((j) => j.id === `head/${slug}/seed-7000`)!.args;
      return a[a.indexOf('--balance') + 1];
    };
    expect([balance('isic-0'), balance('real-oversample')]).toEqual(['none', 'weights']);
  });

  it('nv2mel: the filter still ranks with a network, trained for it alone', async () => {
    const config = await resolveExperimentConfig('test', undefined, { classifier: head });
    const plan = nv2melPlan(['/d'], config, fakeKeys(), 12);
    expect(plan.jobs.find((j) => j.id === 'prf/0.25')!.args).toContain(
      '{job:classifier/isic-0/seed-7000}/run',
    );
    expect(
      plan.jobs.filter((j) => j.args[0] === 'classifier' && j.args[1] === 'train').map((j) => j.id),
    ).toEqual(['classifier/isic-0/seed-7000']);
    expect(plan.cells.every((c) => c.predictJob.startsWith('head/'))).toBe(true);
  });

  it("the augment baseline: one augment-views job of the train part, added to that row's heads", async () => {
    const config = await resolveExperimentConfig('test', undefined, {
      classifier: head,
      baselines: ['augment', 'oversample'],
      repeats: 2,
    });
    expect(config.classifier.augmentViews).toBe(4);
    const plan = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']);
    const views = plan.jobs.filter((j) => j.args[0] === 'data' && j.args[1] === 'augment');
    expect(views).toEqual([
      {
        id: 'augment-views',
        stage: 'data',
        args: 'data augment /d --split {job:split}/split.json --part train --views 4 --seed 7 --size 32 --classes MEL,NV --out {out}/data'.split(
          ' ',
        ),
        deps: ['split'],
        // Keyed by the train part's content, not by the split job: a changed val/test image keeps it.
        inputs: { train: 'train/MEL+train/NV' },
        keyDeps: [],
      },
    ]);
    const job = (slug: string, seed = 7001) => plan.jobs.find((j) => j.id === `head/${slug}/seed-${seed}`)!;
    expect(job('real-augment').args.join(' ')).toBe(
      'classifier head --data /d --split {job:split}/split.json --extractor test --size 32 --seed 7001 --balance none --out {out}/head --add {job:augment-views}/data --classes MEL,NV --epochs 1',
    );
    expect(job('real-augment').deps).toEqual([
      'split',
      'augment-views',
      'features/real',
      'features/real-augment',
    ]);
    expect(job('real-augment').keyDeps).toEqual(['augment-views']);
    // ISIC-0 and the oversampling row read no views.
    for (const slug of ['isic-0', 'real-oversample']) expect(job(slug).args).not.toContain('--add');
    expect(plan.sets.find((s) => s.slug === 'real-augment')).toMatchObject({
      baseline: 'augment',
      addJobs: ['augment-views'],
    });
    const key = (p: typeof plan, id: string) => planJobs(p.jobs, '/e').find((j) => j.id === id)!.key;
    // The views' key follows the train part's content and the view count, not the val or test parts.
    const base = key(plan, 'augment-views');
    const changed = (parts: string[]) =>
      key(noise2imgPlan(['/d'], config, fakeKeys({ parts }), ['MEL', 'NV']), 'augment-views');
    expect(changed(['val/MEL', 'test/NV'])).toBe(base);
    expect(changed(['train/NV'])).not.toBe(base);
    const eight = { ...config, classifier: { ...config.classifier, augmentViews: 8 } };
    const more = noise2imgPlan(['/d'], eight, fakeKeys(), ['MEL', 'NV']);
    expect(key(more, 'augment-views')).not.toBe(base);
    expect(key(more, 'head/real-augment/seed-7000')).not.toBe(key(plan, 'head/real-augment/seed-7000'));
    expect(key(more, 'head/isic-0/seed-7000')).toBe(key(plan, 'head/isic-0/seed-7000'));
    expect(describeClassifiers(config)).toBe(
      'linear heads on test features of the images decoded at 32² (the fast path, `classifier head`), 2 seeds a row; real + augmentation adds 4 augmented views of each train image',
    );
    // nv2mel: the same job and row (all classes: no --classes).
    const nv = nv2melPlan(['/d'], config, fakeKeys(), 12);
    expect(nv.jobs.find((j) => j.id === 'augment-views')!.args).not.toContain('--classes');
    expect(nv.jobs.find((j) => j.id === 'head/real-augment/seed-7000')!.args).toContain(
      '{job:augment-views}/data',
    );
  });

  it("extracts each set's features in a job of its own, before its heads; sets of one source one after another", async () => {
    const config = await resolveExperimentConfig('test', undefined, {
      classifier: head,
      extractor: 'test',
      repeats: 2,
    });
    const plan = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']);
    const byId = new Map(plan.jobs.map((j) => [j.id, j]));
    const features = plan.jobs.filter((j) => j.stage === 'features');
    expect(features.map((j) => [j.id, j.deps])).toEqual([
      ['features/real', []],
      ['features/acgan/acgan-4', ['acgan-4']],
      ['features/cyclegan/cyclegan-4', ['cyclegan-4']],
      // acgan-4 ⊂ acgan-8: the larger set's job starts when the smaller's has stored its images.
      ['features/acgan/acgan-8', ['acgan-8', 'features/acgan/acgan-4']],
      ['features/cyclegan/cyclegan-8', ['cyclegan-8', 'features/cyclegan/cyclegan-4']],
    ]);
    expect(byId.get('features/real')!.args.join(' ')).toBe(
      'features extract /d --extractor test --size 32 --json',
    );
    expect(byId.get('features/real')!.inputs).toEqual({ data: 'data-1' });
    expect(byId.get('features/acgan/acgan-8')).toMatchObject({
      args: 'features extract {job:acgan-8}/data --extractor test --size 32 --json'.split(' '),
      keyDeps: ['acgan-8'],
      stdoutFile: 'features.json',
    });
    // Every head waits for its features, which do not enter its key (the vectors are a function of
    // the image bytes): the heads' keys are those of a plan without feature jobs.
    for (const cell of plan.cells) {
      const deps = byId.get(cell.trainJob)!.deps;
      expect(deps).toContain('features/real');
      for (const add of cell.set.addJobs) expect(deps).toContain(`features/${cell.set.source}/${add}`);
    }
    const planned = planJobs(plan.jobs, '/e');
    const withoutFeatures = planJobs(
      plan.jobs
        .filter((j) => j.stage !== 'features')
        .map((j) => ({ ...j, deps: j.deps.filter((d) => !d.startsWith('features/')) })),
      '/e',
    );
    const keyOf = (p: typeof planned, id: string) => p.find((j) => j.id === id)!.key;
    for (const cell of plan.cells) {
      expect(keyOf(planned, cell.trainJob)).toBe(keyOf(withoutFeatures, cell.trainJob));
    }
    // FID/KID on the heads' store wait for the features of what they read.
    expect(byId.get('fid/acgan')!.deps).toEqual([
      'real-test',
      'acgan-8',
      'features/real',
      'features/acgan/acgan-8',
    ]);
    // Networks read images, not stored features: no feature jobs.
    const networks = noise2imgPlan(['/d'], await resolveExperimentConfig('test'), fakeKeys(), ['MEL']);
    expect(networks.jobs.some((j) => j.stage === 'features')).toBe(false);
    // nv2mel: the sets of one α share their translated NV images.
    const nv = nv2melPlan(['/d'], config, fakeKeys(), 12);
    expect(nv.jobs.filter((j) => j.id.startsWith('features/alpha-0.25/')).map((j) => [j.id, j.deps])).toEqual(
      [
        ['features/alpha-0.25/a0.25-n8', ['mel-8/0.25']],
        ['features/alpha-0.25/a0.25-n12', ['mel-12/0.25', 'features/alpha-0.25/a0.25-n8']],
      ],
    );
    // Folds: the real images' features are planned once for all folds.
    const folded = foldedPlan(foldKeys(2), (k) => noise2imgPlan(['/d'], config, k, ['MEL', 'NV']));
    expect(folded.jobs.filter((j) => j.id === 'features/real')).toHaveLength(1);
    expect(folded.jobs.filter((j) => j.id.endsWith('features/acgan/acgan-8')).map((j) => j.id)).toEqual([
      'fold-0/features/acgan/acgan-8',
      'fold-1/features/acgan/acgan-8',
    ]);
    expect(() => planJobs(folded.jobs, '/e')).not.toThrow();
  });

  it("with folds, one augment-views job per fold, read by that fold's heads", async () => {
    const config = await resolveExperimentConfig('test', undefined, {
      classifier: head,
      baselines: ['augment'],
      folds: 2,
    });
    const plan = foldedPlan(foldKeys(2), (k) => noise2imgPlan(['/d'], config, k, ['MEL', 'NV']));
    for (const k of [0, 1]) {
      const views = plan.jobs.find((j) => j.id === `fold-${k}/augment-views`)!;
      expect(views.args).toContain(`{job:fold-${k}/split}/split.json`);
      expect(views.deps).toEqual([`fold-${k}/split`]);
      expect(views.inputs).toEqual({ train: `f${k}:train/MEL+train/NV` });
      const h = plan.jobs.find((j) => j.id === `fold-${k}/head/real-augment/seed-7000`)!;
      expect(h.args).toContain(`{job:fold-${k}/augment-views}/data`);
      // The real images' features: one job for every fold.
      expect(h.deps).toEqual([
        `fold-${k}/split`,
        `fold-${k}/augment-views`,
        'features/real',
        `fold-${k}/features/real-augment`,
      ]);
    }
    expect(plan.sets.find((s) => s.slug === 'real-augment')!.addJobs).toEqual(['augment-views']);
    expect(() => planJobs(plan.jobs, '/e')).not.toThrow();
  });

  it('cannot augment on the fly: a config error pointing at the augment baseline', async () => {
    const err = await resolveExperimentConfig('test', undefined, {
      classifier: { ...(head as object), augment: true },
    } as never).then(
      () => undefined,
      (e: SkinganError) => e,
    );
    expect(err?.message).toBe(
      'invalid experiment config: classifier.method "head" trains on stored features, so it cannot augment on the fly (classifier.augment is true)',
    );
    expect(err?.hint).toBe(
      'set "classifier": {"augment": false} and add "augment" to baselines: that row\'s heads also train on classifier.augmentViews augmented views of each train image (`data augment`)',
    );
  });
});

describe('the ham preset', () => {
  it('plans the fast path on ResNet-50 at 128²: 20 seeds a row, the real-data baselines, FID/KID on the heads’ vectors', async () => {
    const config = await resolveExperimentConfig('ham');
    const plan = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']);
    expect(plan.sets.map((s) => s.label)).toEqual([
      'ISIC-0',
      'real + augmentation',
      'real + oversampling',
      'acgan-250',
      'cyclegan-250',
      'acgan-1000',
      'cyclegan-1000',
    ]);
    expect(plan.cells).toHaveLength(7 * 20);
    const args = (id: string) => plan.jobs.find((j) => j.id === id)!.args.join(' ');
    expect(args('head/acgan-1000/seed-7000')).toContain('--extractor resnet50 --input-size 128 --size 64');
    expect(args('augment-views')).toContain('--views 1 --seed 7 --size 64');
    expect(describeClassifiers(config)).toContain('adds 1 augmented view of each train image');
    expect(args('fid/cyclegan')).toContain('--extractor resnet50 --cache --size 64 --input-size 128');
    expect(args('acgan')).toContain('--preset cpu --size 64 --epochs 8');
    // Real and synthetic images reach the heads at the generators' size.
    expect(sizeMismatch('noise2img', config)).toBeUndefined();
    expect(sizeMismatch('nv2mel', config)).toBeUndefined();
  });

  it('trains each CycleGAN on the same number of images of each domain, drawn with the experiment seed', async () => {
    const config = await resolveExperimentConfig('ham');
    const job = (plan: { jobs: { id: string; args: string[]; deps: string[] }[] }, id: string) =>
      plan.jobs.find((j) => j.id === id)!;
    // noise2img: 100 ACGAN images of the class ↔ 100 of its real train images (not all 3,754 NV),
    // 3 epochs: 300 steps for every class.
    const n2i = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']);
    expect(job(n2i, 'cyclegan/NV').deps).toEqual(['cyclegan-input/NV', 'cyclegan-real/NV']);
    expect(job(n2i, 'cyclegan-real/NV').args.join(' ')).toBe(
      'data subset /d --out {out}/data --split {job:split}/split.json --part train --classes NV --per-class 100 --seed 7',
    );
    expect(job(n2i, 'cyclegan/NV').args.join(' ')).toContain('--epochs 3');
    // nv2mel: its own length (6 epochs of 300 images each way), both domains drawn; every NV
    // train image is still translated.
    const nv = nv2melPlan(['/d'], config, fakeKeys(), 3000);
    expect(job(nv, 'cyclegan/0.25').deps).toEqual(['cyclegan-input/NV', 'cyclegan-input/MEL/0.25']);
    expect(job(nv, 'cyclegan/0.25').args.join(' ')).toContain('--epochs 6');
    expect(job(nv, 'cyclegan-input/NV').args.join(' ')).toContain('--classes NV --per-class 300 --seed 7');
    expect(job(nv, 'cyclegan-input/MEL/1').args.join(' ')).toBe(
      'data subset {job:prf/1}/data --out {out}/data --per-class 300 --seed 7',
    );
    expect(job(nv, 'translate/1').deps).toEqual(['cyclegan/1', 'real-train/NV']);
  });
});

describe('sizeMismatch', () => {
  it('warns when the classifiers read images larger than the generators make', async () => {
    const thesis = await resolveExperimentConfig('thesis');
    // ACGAN 128², CycleGAN 256², classifiers 224²: noise2img's ACGAN images are upsampled.
    expect(sizeMismatch('noise2img', thesis)).toMatch(
      /read images at 224², the generators make them at 128²/,
    );
    // nv2mel uses the 256² CycleGAN only, larger than 224².
    expect(sizeMismatch('nv2mel', thesis)).toBeUndefined();
    const big = await resolveExperimentConfig('ham', undefined, { classifier: { size: 128 } } as never);
    expect(sizeMismatch('nv2mel', big)).toMatch(/set classifier.size to 64/);
  });
});

describe('describeClassifiers', () => {
  it('names the method, its network or features, and the seeds a row', async () => {
    expect(describeClassifiers(await resolveExperimentConfig('test', undefined, { repeats: 2 }))).toBe(
      'networks (`classifier train`, preset test, 32²), 2 seeds a row',
    );
    const head = await resolveExperimentConfig('test', undefined, {
      repeats: 20,
      classifier: { preset: 'test', size: 128, method: 'head' },
    } as never);
    expect(describeClassifiers(head)).toBe(
      'linear heads on resnet50 features of the images decoded at 128² (the fast path, `classifier head`), 20 seeds a row',
    );
    const native = await resolveExperimentConfig('test', undefined, {
      classifier: { preset: 'test', size: 128, method: 'head', inputSize: 128 },
    } as never);
    expect(describeClassifiers(native)).toMatch(
      /^linear heads on resnet50 at 128² features of the images decoded at 128²/,
    );
    const plan = noise2imgPlan(['/d'], native, fakeKeys(), ['MEL']);
    const job = plan.jobs.find((j) => j.args[1] === 'head')!;
    expect(job.args.join(' ')).toContain('--extractor resnet50 --input-size 128 --size 128');
  });
});

describe('FID/KID of noise2img', () => {
  const fidJob = (config: ExperimentConfig) =>
    noise2imgPlan(['/d'], config, fakeKeys(), ['MEL']).jobs.find((j) => j.id === 'fid/acgan')!;
  const fid = (config: ExperimentConfig) => fidJob(config).args.join(' ');

  it('one measure whatever the classifier method: both folders at the generators’ size, the heads’ input size', async () => {
    const heads = await resolveExperimentConfig('ham');
    const networks = await resolveExperimentConfig('ham', undefined, {
      classifier: { method: 'network' },
    } as never);
    expect(fid(heads)).toContain('--extractor resnet50 --cache --size 64 --input-size 128 --per-class');
    // Networks have no store to share: the same decode and input sizes, the vectors computed in
    // FID's job and kept in its folder, where KID's job (after it) reads them.
    expect(fid(networks)).toContain(
      '--extractor resnet50 --size 64 --input-size 128 --cache --store {out}/features --per-class',
    );
    expect(fidJob(heads).deps).toEqual([
      'real-test',
      'acgan-1000',
      'features/real',
      'features/acgan/acgan-1000',
    ]);
    expect(fidJob(networks).deps).toEqual(['real-test', 'acgan-1000']);
    const kid = (config: ExperimentConfig) =>
      noise2imgPlan(['/d'], config, fakeKeys(), ['MEL']).jobs.find((j) => j.id === 'kid/cyclegan')!;
    expect(kid(networks).args.join(' ')).toContain('--cache --store {job:fid/cyclegan}/features --per-class');
    expect(kid(networks).deps).toEqual(['real-test', 'cyclegan-1000', 'fid/cyclegan']);
    expect(kid(heads).args).not.toContain('--store');
    expect(kid(heads).deps).toEqual([
      'real-test',
      'cyclegan-1000',
      'features/real',
      'features/cyclegan/cyclegan-1000',
    ]);
  });

  it('reads the heads’ store only where the heads decode at the generators’ size with the same extractor', async () => {
    // The test preset: generators at 32², FID on the `test` extractor, heads on resnet50.
    const head = await resolveExperimentConfig('test', undefined, {
      classifier: { preset: 'test', size: 128, method: 'head', inputSize: 128 },
    } as never);
    expect(fid(head)).toContain('--extractor test --size 32 --cache --store {out}/features --per-class');
    // Same extractor, but the heads decode at 128²: its input size, not its store.
    expect(fid({ ...head, extractor: 'resnet50' })).toContain(
      '--extractor resnet50 --size 32 --input-size 128 --cache --store {out}/features --per-class',
    );
    const at32 = { ...head, extractor: 'resnet50', classifier: { ...head.classifier, size: 32 } };
    expect(fid(at32)).toContain('--extractor resnet50 --cache --size 32 --input-size 128 --per-class');
    // Of a thesis-sized plan, the smaller generator's side (ACGAN 128², CycleGAN 256²).
    expect(fid(await resolveExperimentConfig('thesis'))).toContain(
      '--extractor resnet50 --size 128 --cache --store {out}/features --per-class',
    );
  });
});

describe('folds', () => {
  it('config: 1 by default (fractions as before); K ≥ 2 tests 1/K; contradictory fractions are refused', async () => {
    const one = await resolveExperimentConfig('test');
    expect([one.folds, one.fractions]).toEqual([1, { train: 0.8, val: 0.1, test: 0.1 }]);
    const five = await resolveExperimentConfig('test', undefined, { folds: 5 });
    expect(five.fractions).toEqual({ train: 0.7, val: 0.1, test: 0.2 });
    // Fractions that agree with the folds are kept (here a larger val part).
    const agreed = await resolveExperimentConfig('test', undefined, {
      folds: 4,
      fractions: { train: 0.55, val: 0.2, test: 0.25 },
    });
    expect(agreed.fractions).toEqual({ train: 0.55, val: 0.2, test: 0.25 });
    await expect(
      resolveExperimentConfig('test', undefined, {
        folds: 5,
        fractions: { train: 0.8, val: 0.1, test: 0.1 },
      }),
    ).rejects.toThrow(
      'invalid experiment config: folds 5 tests 1/5 of each class in each fold, but fractions.test is 0.1',
    );
    await expect(resolveExperimentConfig('test', undefined, { folds: 0 })).rejects.toThrow(
      /invalid experiment config: folds/,
    );
  });

  it('noise2img with K = 3: one split job per fold, the whole pipeline per fold reading its split, cells per (set, fold, seed)', async () => {
    const config = await resolveExperimentConfig('test', undefined, { folds: 3, repeats: 2 });
    const HAM = { files: ['ham10000_metadata.csv'], hash: 'meta-1' };
    const plan = foldedPlan(foldKeys(3, HAM), (k) => noise2imgPlan(['/d'], config, k, ['MEL', 'NV']));
    const job = (id: string) => plan.jobs.find((j) => j.id === id)!;
    const splits = plan.jobs.filter((j) => j.stage === 'split');
    expect(splits.map((j) => j.id)).toEqual(['fold-0/split', 'fold-1/split', 'fold-2/split']);
    for (const [k, split] of splits.entries()) {
      expect(split.args.join(' ')).toBe(
        `data split /d --seed 7 --fractions 0.566666666667,0.1,${1 / 3} --group-by lesion_id --folds 3 --fold ${k} --out {out}/split.json`,
      );
      // The GANs of fold k train on fold k's train part, and everything after them stays in fold k.
      expect(job(`fold-${k}/acgan`).deps).toEqual([`fold-${k}/split`]);
      expect(job(`fold-${k}/acgan`).args.join(' ')).toContain(`--split {job:fold-${k}/split}/split.json`);
      expect(job(`fold-${k}/acgan`).inputs).toEqual({ train: `f${k}:train/MEL+train/NV` });
      expect(job(`fold-${k}/cyclegan/MEL`).deps).toEqual([
        `fold-${k}/cyclegan-input/MEL`,
        `fold-${k}/cyclegan-real/MEL`,
      ]);
      expect(job(`fold-${k}/classifier/cyclegan-8/seed-7001`).args.join(' ')).toContain(
        `--add {job:fold-${k}/cyclegan-8}/data`,
      );
      // Fold k's generators are scored on fold k's test images only.
      expect(job(`fold-${k}/fid/acgan`).args.join(' ')).toContain(
        `--real {job:fold-${k}/real-test}/data --fake {job:fold-${k}/acgan-8}/data`,
      );
    }
    // Every job is in a fold, and refers only to jobs of its own fold.
    for (const j of plan.jobs) {
      const fold = j.id.split('/')[0]!;
      expect(fold).toMatch(/^fold-[012]$/);
      const refs = [...j.deps, ...[...j.args.join(' ').matchAll(/\{job:([^}]+)\}/g)].map((r) => r[1]!)];
      for (const r of refs) expect(r.startsWith(`${fold}/`)).toBe(true);
    }
    const single = noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']);
    expect(plan.jobs).toHaveLength(3 * single.jobs.length);
    // The rows of one split, once; cells per (set, fold, seed), each with its own jobs.
    expect(plan.sets).toEqual(single.sets);
    expect(plan.sets).toHaveLength(5);
    expect(plan.cells).toHaveLength(5 * 3 * 2);
    const coords = new Set(plan.cells.map((c) => `${c.set.slug}|${c.fold}|${c.seed}`));
    expect(coords.size).toBe(30);
    expect(plan.cells.find((c) => c.set.slug === 'acgan-8' && c.fold === 2 && c.seed === 7001)).toMatchObject(
      {
        trainJob: 'fold-2/classifier/acgan-8/seed-7001',
        predictJob: 'fold-2/predict/acgan-8/seed-7001',
      },
    );
    expect(plan.ganMetricJobs.filter((g) => g.kind === 'acgan' && g.metric === 'fid')).toEqual([
      { kind: 'acgan', metric: 'fid', job: 'fold-0/fid/acgan', fold: 0 },
      { kind: 'acgan', metric: 'fid', job: 'fold-1/fid/acgan', fold: 1 },
      { kind: 'acgan', metric: 'fid', job: 'fold-2/fid/acgan', fold: 2 },
    ]);
    expect(plan.sampleJobs.map((s) => s.job)).toEqual([
      'fold-0/real-test',
      'fold-0/acgan-8',
      'fold-0/cyclegan-8',
    ]);
    // Keys tell the folds apart: no two jobs share a folder.
    const planned = planJobs(plan.jobs, '/e');
    expect(new Set(planned.map((j) => j.key)).size).toBe(planned.length);
    expect(planned.find((j) => j.id === 'fold-1/acgan')!.out).toMatch(
      /^\/e\/jobs\/fold-1\/acgan-[0-9a-f]{12}$/,
    );
    expect(describeSplit(plan.split, config.seed, config.folds)).toBe(
      'by lesion (ham10000_metadata.csv), 3 folds, seed 7',
    );
    expect(describeClassifiers(config)).toBe(
      'networks (`classifier train`, preset test, 32²), 6 runs a row (3 folds × 2 seeds)',
    );
  });

  it('nv2mel with K = 2: each fold filters with its own ISIC-0 ranker', async () => {
    const config = await resolveExperimentConfig('test', undefined, { folds: 2 });
    const plan = foldedPlan(foldKeys(2), (k) => nv2melPlan(['/d'], config, k, 12));
    for (const k of [0, 1]) {
      const prf = plan.jobs.find((j) => j.id === `fold-${k}/prf/0.25`)!;
      expect(prf.args).toContain(`{job:fold-${k}/classifier/isic-0/seed-7000}/run`);
      expect(prf.deps).toEqual([`fold-${k}/classifier/isic-0/seed-7000`, `fold-${k}/split`]);
    }
    expect(plan.cells).toHaveLength(plan.sets.length * 2);
    expect(() => planJobs(plan.jobs, '/e')).not.toThrow();
  });

  it('folds = 1 plans exactly what was planned before folds existed', async () => {
    const digest = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
    const config = await resolveExperimentConfig('test', undefined, { repeats: 2, folds: 1 });
    const n2i = foldedPlan([fakeKeys()], (k) => noise2imgPlan(['/d'], config, k, ['MEL', 'NV']));
    expect(n2i).toEqual(noise2imgPlan(['/d'], config, fakeKeys(), ['MEL', 'NV']));
    const nv = foldedPlan([fakeKeys()], (k) => nv2melPlan(['/d'], config, k, 12));
    // Digests of the planned jobs (ids, args, keys, folders) and cells, taken with the code before
    // folds (4aa9222): a change here changes the plans, job keys and folders of every experiment.
    // (The cells' digests since: the GAN rows name their `source`; jobs and keys unchanged. The
    // jobs' since 6 December: each CycleGAN learns from `trainImages` of each domain, drawn;
    // noise2img's later that day: no more unread `real-train/<class>` subsets; on 6 December
    // again, its FID/KID jobs decode at the generators' size, `--size 32`; on 7 December, without
    // the heads' store FID keeps its vectors in its folder and KID reads them there.)
    expect([digest(planJobs(n2i.jobs, '/e', 'c')), digest(n2i.cells)]).toEqual([
      '54c9d792683bd590',
      '3a28f7dfa418ab56',
    ]);
    expect([digest(planJobs(nv.jobs, '/e', 'c')), digest(nv.cells)]).toEqual([
      '97ccde6277f38d3b',
      '744426c74b4f0e9b',
    ]);
  });
});
