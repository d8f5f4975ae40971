import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePredictionsCsv } from '@skingan/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoise2imgTables, readTable } from '../test-utils/experiment-tables.js';
import { runCli } from '../test-utils/run-cli.js';
import { testImages } from '../test-utils/shared-data.js';

// The fast path end to end: noise2img of the `test` preset whose classifiers are linear heads on
// stored features (`classifier.method: "head"`), on a 3-class subset of isic-mini or the demo set.
const { dir: MINI, name } = testImages();

let dir: string;
let data: string;
let env: Record<string, string>;
beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-e2e-head-'));
  data = join(dir, 'mini3');
  env = { SKINGAN_CACHE: join(dir, 'cache') };
  expect(runCli(['data', 'subset', MINI, '--classes', 'MEL,NV,BCC', '--out', data], env).code).toBe(0);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe(`skingan experiment with classifier.method "head" (${name}, 3 classes)`, () => {
  it('noise2img: Table 6.2 from the heads’ predictions; --resume reuses every job and rewrites the same table', async () => {
    const config = join(dir, 'head.json');
    await fs.writeFile(
      config,
      JSON.stringify({
        classifier: { preset: 'test', size: 32, method: 'head', extractor: 'test', augmentViews: 2 },
        baselines: ['augment'],
        repeats: 2,
      }),
    );
    const out = join(dir, 'exp');
    const args = [
      'experiment',
      'noise2img',
      '--data',
      data,
      '--preset',
      'test',
      '--config',
      config,
      '--jobs',
      '2',
      '--out',
      out,
    ];
    const r = runCli(args, env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'classifiers: linear heads on test features of the images decoded at 32² (the fast path, `classifier head`), 2 seeds a row; real + augmentation adds 2 augmented views of each train image',
    );
    await expectNoise2imgTables(out, ['MEL', 'NV', 'BCC'], ['real + augmentation']);
    // The augmentation row: its heads read 2 views of each train image, and the GAN rows are
    // compared with it too.
    const vsAugment = await readTable(out, 'paired-vs-augment');
    expect(vsAugment.rows.map((r: { label: string }) => r.label)).toEqual([
      'acgan-4',
      'cyclegan-4',
      'acgan-8',
      'cyclegan-8',
    ]);
    // Each cell's predictions cover the same test images: the split's test part. (Job folders
    // are named `<id>-<key>`.)
    const only = async (parent: string, prefix: string) =>
      join(parent, (await fs.readdir(parent)).find((f) => f.startsWith(`${prefix}-`))!);
    const split = JSON.parse(
      await fs.readFile(join(await only(join(out, 'jobs'), 'split'), 'split.json'), 'utf8'),
    );
    const cellDirs = (await fs.readdir(join(out, 'jobs', 'head', 'acgan-8'))).map((f) =>
      f.replace(/-[0-9a-f]+$/, ''),
    );
    expect(cellDirs.sort()).toEqual(['seed-7000', 'seed-7001']);
    const csv = join(
      await only(join(out, 'jobs', 'head', 'acgan-8'), 'seed-7000'),
      'head',
      'predictions.csv',
    );
    const table = await parsePredictionsCsv(await fs.readFile(csv, 'utf8'), csv);
    expect([...table.ids].sort()).toEqual([...split.ids.test].sort());
    const views = join(await only(join(out, 'jobs'), 'augment-views'), 'data', 'labels.csv');
    const viewIds = (await fs.readFile(views, 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]);
    expect(viewIds.sort()).toEqual(split.ids.train.flatMap((id: string) => [`${id}_v0`, `${id}_v1`]).sort());
    expect(await fs.readFile(join(out, 'report.md'), 'utf8')).toContain('**classifiers**');
    // The features are extracted by their own jobs, once an image: acgan-8's job finds acgan-4's
    // images (its first 4 a class) stored by the job before it.
    // A job folder is `<id>-<key>` (12 hex digits): `real-<key>`, not `real-augment-<key>`.
    const extracted = async (...path: string[]) => {
      const parent = join(out, 'jobs', ...path.slice(0, -1));
      const folder = (await fs.readdir(parent)).find(
        (f) => f.match(/^(.+)-[0-9a-f]{12}$/)?.[1] === path.at(-1),
      );
      return JSON.parse(await fs.readFile(join(parent, folder!, 'features.json'), 'utf8')) as {
        images: number;
        extracted: number;
        reused: number;
      };
    };
    const real = await extracted('features', 'real');
    const dataRows = (await fs.readFile(join(data, 'labels.csv'), 'utf8')).trim().split('\n').length - 1;
    expect(real.images).toBe(dataRows);
    // A fresh store: every image extracted by this job, none found stored.
    expect(real).toMatchObject({ extracted: dataRows, reused: 0 });
    expect(await extracted('features', 'acgan', 'acgan-4')).toMatchObject({
      images: 12,
      extracted: 12,
      reused: 0,
    });
    expect(await extracted('features', 'acgan', 'acgan-8')).toMatchObject({
      images: 24,
      extracted: 12,
      reused: 12,
    });

    const before = await fs.readFile(join(out, 'tables', 'table-6.2.json'), 'utf8');
    const again = runCli(args.concat('--resume'), env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/0 jobs run, \d+ reused, 0 failed/);
    expect(await fs.readFile(join(out, 'tables', 'table-6.2.json'), 'utf8')).toBe(before);
  });
});
