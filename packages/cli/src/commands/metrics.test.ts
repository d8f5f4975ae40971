import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResNetClassifier } from '@skingan/classifier';
import { ISIC2019, initBackend } from '@skingan/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { testImages } from '../test-utils/shared-data.js';

// isic-mini, or the demo set of the same shape (8 classes × 60 images).
const { dir: ISIC_MINI, name, ext } = testImages();

let dir: string;
let rows: string[][]; // labels.csv rows of the images: [id, one-hot…]
const CLASSES = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skingan-metrics-cli-'));
  rows = (await readFile(join(ISIC_MINI, 'labels.csv'), 'utf8'))
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe(`skingan metrics fid|kid|prd (${name})`, () => {
  it('FID of the images against themselves is 0 with the test extractor, named in the output', () => {
    const r = runCli([
      'metrics',
      'fid',
      '--real',
      ISIC_MINI,
      '--fake',
      ISIC_MINI,
      '--extractor',
      'test',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Math.abs(out.fid)).toBeLessThan(1e-3);
    expect(out.extractor).toBe('test-random-conv (64-d, 32px)');
    expect([out.nReal, out.nFake, out.dim]).toEqual([480, 480, 64]);
    const text = runCli(['metrics', 'fid', '--real', ISIC_MINI, '--fake', ISIC_MINI, '--extractor', 'test']);
    expect(text.stdout).toMatch(
      /^FID -?0\.0000 \(extractor: test-random-conv \(64-d, 32px\); 480 real vs 480 generated/,
    );
    expect(text.stdout).toContain('not comparable to published (Inception) FIDs');
  });

  it('a generated set of one class: FID > 0, per-class values only where both sides have images', async () => {
    // "Generated" = the 60 MEL images, linked (not copied) into a dataset folder.
    const fake = join(dir, 'mel-only');
    await mkdir(join(fake, 'images'), { recursive: true });
    const mel = rows.filter((r) => Number(r[1]) === 1);
    await writeFile(
      join(fake, 'labels.csv'),
      `image,${CLASSES.join(',')},UNK\n${mel.map((r) => r.join(',')).join('\n')}\n`,
    );
    for (const r of mel)
      await symlink(join(ISIC_MINI, 'images', `${r[0]}${ext}`), join(fake, 'images', `${r[0]}${ext}`));
    const r = runCli([
      'metrics',
      'fid',
      '--real',
      ISIC_MINI,
      '--fake',
      fake,
      '--extractor',
      'test',
      '--per-class',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.fid).toBeGreaterThan(0.01);
    expect(out.perClass[0].class).toBe('MEL');
    expect(Math.abs(out.perClass[0].fid)).toBeLessThan(1e-3);
    expect(out.perClass[1]).toMatchObject({
      class: 'NV',
      skipped: expect.stringMatching(/60 real and 0 generated/),
    });

    // Through the feature store (--cache), the same vectors when decoded at the extractor's size:
    // the same FID; a second metric over the same images extracts nothing.
    const env = { SKINGAN_CACHE: join(dir, 'cache') };
    const args = ['--real', ISIC_MINI, '--fake', fake, '--extractor', 'test', '--cache', '--size', '32'];
    const cached = JSON.parse(runCli(['metrics', 'fid', ...args, '--json'], env).stdout);
    expect(cached.fid).toBeCloseTo(out.fid, 4);
    expect(cached.extractor).toBe('test-random-conv (64-d, 32px)');
    const extracting = /features: \d+\/\d+ images/;
    const again = runCli(['metrics', 'kid', ...args, '--subsets', '10'], env);
    expect([again.code, extracting.test(again.stderr)]).toEqual([0, false]);
    // …and its JSON counts them: every distinct image found in the store, none computed.
    const againJson = JSON.parse(
      runCli(['metrics', 'kid', ...args, '--subsets', '10', '--json'], env).stdout,
    );
    const distinct = cached.features.extracted + cached.features.reused;
    expect(distinct).toBeGreaterThan(60);
    expect(againJson.features).toEqual({ extracted: 0, reused: distinct });
    // The control: into an empty store the same command does extract, and says so.
    const fresh = runCli(['metrics', 'kid', ...args, '--subsets', '10', '--store', join(dir, 'fresh')], env);
    expect([fresh.code, extracting.test(fresh.stderr)]).toEqual([0, true]);
    const small = JSON.parse(runCli(['metrics', 'fid', ...args, '--input-size', '40', '--json'], env).stdout);
    expect(small.extractor).toBe('test-random-conv (64-d, 40px)');
    // --size decodes both folders at that side (as a generator's), with or without the store:
    // one measure either way, and coarser than the extractor's own input.
    expect([out.decodeSize, cached.decodeSize]).toEqual([32, 32]);
    const at16 = ['--real', ISIC_MINI, '--fake', fake, '--extractor', 'test', '--size', '16', '--json'];
    const direct16 = JSON.parse(runCli(['metrics', 'fid', ...at16], env).stdout);
    const stored16 = JSON.parse(runCli(['metrics', 'fid', ...at16, '--cache'], env).stdout);
    expect([direct16.decodeSize, stored16.decodeSize]).toEqual([16, 16]);
    expect(stored16.fid).toBeCloseTo(direct16.fid, 4);
    expect(Math.abs(direct16.fid - out.fid)).toBeGreaterThan(1e-3);

    const k = runCli([
      'metrics',
      'kid',
      '--real',
      ISIC_MINI,
      '--fake',
      fake,
      '--extractor',
      'test',
      '--subsets',
      '10',
      '--json',
    ]);
    expect(JSON.parse(k.stdout)).toMatchObject({
      subsets: 10,
      subsetSize: 60,
      extractor: 'test-random-conv (64-d, 32px)',
    });
    const p = JSON.parse(
      runCli(['metrics', 'prd', '--real', ISIC_MINI, '--fake', fake, '--extractor', 'test', '--json']).stdout,
    );
    expect(p.precision).toBe(1); // every generated image is a real one
    // …but they cover one class only, so some real images fall outside their k-NN manifold (the
    // exact share depends on the weak test extractor).
    expect(p.recall).toBeLessThan(1);
  });

  it('resnet50 without cached weights names the fetch command (exit 1)', () => {
    const r = runCli(['metrics', 'fid', '--real', ISIC_MINI, '--fake', ISIC_MINI], {
      SKINGAN_CACHE: join(dir, 'empty-cache'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ResNet-50 weights are not in .*empty-cache\/weights\/resnet50-imagenet/);
    expect(r.stderr).toContain('skingan weights fetch resnet50-imagenet');
  });
});

describe(`skingan metrics gan (${name})`, () => {
  /** A dataset folder of links to the images of `pick` rows. */
  async function linked(folder: string, pick: (r: string[]) => boolean): Promise<string> {
    const out = join(dir, folder);
    await mkdir(join(out, 'images'), { recursive: true });
    const chosen = rows.filter(pick);
    await writeFile(
      join(out, 'labels.csv'),
      `image,${CLASSES.join(',')},UNK\n${chosen.map((r) => r.join(',')).join('\n')}\n`,
    );
    for (const r of chosen)
      await symlink(join(ISIC_MINI, 'images', `${r[0]}${ext}`), join(out, 'images', `${r[0]}${ext}`));
    return out;
  }

  it('real against itself: FID ≈ 0, diversity exactly 1 in every class, no fidelity without --classifier', () => {
    const args = ['metrics', 'gan', ISIC_MINI, ISIC_MINI, '--extractor', 'test', '--per-class-limit', '6'];
    const r = runCli([...args, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Math.abs(out.fid)).toBeLessThan(1e-3);
    expect(out.diversity.mean).toBe(1);
    expect(out.diversity.perClass.map((p: { ratio: number }) => p.ratio)).toEqual(CLASSES.map(() => 1));
    expect(out.counts).toMatchObject({ generated: 48, real: 48 });
    expect(out.fidelity).toBeNull();
    expect(out.extractor).toBe('test-random-conv (64-d, 32px)');
    const text = runCli(args);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^FID -?0\.00 {2}KID .* diversity mean 1\.00, worst MEL 1\.00 {2}fidelity not measured/,
    );
    expect(text.stdout).toContain(
      '| class | n generated | n real | diversity | spread generated | spread real |',
    );
    expect(text.stdout).toMatch(/\| VASC \| 6 \| 6 \| 1\.00 \| \d+\.\d\d \| \d+\.\d\d \|/);
  });

  it('one generated class: a ratio for it only; with --classifier, fidelity of identical sets is equal', async () => {
    const mel = await linked('gan-mel', (r) => Number(r[1]) === 1);
    await initBackend({ backend: 'wasm', log: null });
    const clf = createResNetClassifier('resnet-small', { labelSpace: ISIC2019, inputSize: 32, seed: 3 });
    const clfDir = join(dir, 'classifier');
    await clf.save(clfDir);
    clf.dispose();
    const r = runCli(['metrics', 'gan', mel, mel, '--extractor', 'test', '--classifier', clfDir, '--json']);
    expect(r.code).toBe(0);
    const same = JSON.parse(r.stdout);
    expect(same.fidelity.perClass[0].generated).toBe(same.fidelity.perClass[0].real);
    expect(same.fidelity.balanced).toBe(same.fidelity.realBalanced);
    expect(same.fidelity.classifier).toBe(clfDir);
    const v = JSON.parse(runCli(['metrics', 'gan', mel, ISIC_MINI, '--extractor', 'test', '--json']).stdout);
    expect(v.diversity.perClass[0]).toMatchObject({ class: 'MEL', nGenerated: 60, nReal: 60, ratio: 1 });
    expect(v.diversity.perClass[1]).toMatchObject({
      class: 'NV',
      ratio: null,
      skipped: 'needs ≥ 2 real and ≥ 2 generated images, has 60 real and 0 generated',
    });
    expect(v.diversity.worst).toEqual({ class: 'MEL', value: 1 });
    expect(v.fid).toBeGreaterThan(0.01);
  });

  it('errors name the folder: missing, or too few images', async () => {
    const missing = runCli(['metrics', 'gan', join(dir, 'nope'), ISIC_MINI, '--extractor', 'test']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${join(dir, 'nope')}: no such dataset folder`);
    const first = rows[0]![0];
    const one = await linked('gan-one', (r) => r[0] === first);
    const r = runCli(['metrics', 'gan', ISIC_MINI, one, '--extractor', 'test', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error).toMatchObject({
      code: 'USAGE',
      message: `${one}: the real folder has 1 usable images; at least 2 are needed`,
    });
  });
});

describe(`skingan metrics classify (${name})`, () => {
  async function predictions(name: string, wrongEvery: number): Promise<string> {
    // One-hot of the truth with 0.7/0.3 probabilities; every `wrongEvery`-th image predicted as the next class.
    const lines = rows.map((r, i) => {
      const truth = r.slice(1, 9).indexOf('1.0');
      const pred = i % wrongEvery === 0 ? (truth + 1) % 8 : truth;
      const p = CLASSES.map((_, c) => (c === pred ? 0.7 : c === truth ? 0.3 : 0).toString());
      return `${r[0]},${p.join(',')}`;
    });
    const file = join(dir, name);
    await writeFile(file, `image,${CLASSES.join(',')}\n${lines.join('\n')}\n`);
    return file;
  }

  it('computes accuracy, balanced accuracy and bootstrap intervals from a predictions CSV', async () => {
    const file = await predictions('p.csv', 4);
    const r = runCli([
      'metrics',
      'classify',
      '--pred',
      file,
      '--data',
      ISIC_MINI,
      '--bootstrap',
      '200',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.n).toBe(480);
    expect(out.accuracy).toBeCloseTo(360 / 480, 12); // every 4th of 480 wrong
    expect(out.balancedAccuracy).toBeCloseTo(
      out.perClass.reduce((s: number, m: { recall: number }) => s + m.recall, 0) / 8,
      12,
    );
    expect(out.intervals.accuracy.lower).toBeLessThan(0.75);
    expect(out.intervals.accuracy.upper).toBeGreaterThan(0.75);
    const md = runCli(['metrics', 'classify', '--pred', file, '--data', ISIC_MINI, '--bootstrap', '0']);
    expect(md.stdout).toMatch(/\| balanced accuracy \| — \| 0\.750 \|/);
    expect(md.stdout).toContain('| true \\ predicted | MEL | NV |');
  });

  it('an image without a true label is an error naming the file and line', async () => {
    const file = join(dir, 'bad.csv');
    await writeFile(file, `image,MEL,NV\n${rows[0]![0]},0.5,0.5\nISIC_9999999,0.1,0.9\n`);
    const r = runCli(['metrics', 'classify', '--pred', file, '--data', ISIC_MINI]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3: image ISIC_9999999 has a prediction but no usable true label`);
  });
});
