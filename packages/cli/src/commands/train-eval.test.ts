import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createResNetClassifier } from '@skingan/classifier';
import { ISIC2019, initBackend } from '@skingan/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { readJsonl, testImages } from '../test-utils/shared-data.js';

const MINI = testImages().dir;
const evalsOf = (records: Record<string, unknown>[]) => records.filter((r) => r.type === 'eval');

describe(`quality evaluations while training (${testImages().name})`, () => {
  let dir: string;
  let sub: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-train-eval-'));
    sub = join(dir, 'sub');
    const s = runCli(['data', 'subset', MINI, '--classes', 'MEL,NV', '--per-class', '12', '--out', sub]);
    expect(s.code, s.stderr).toBe(0);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('an ACGAN whose generator ignores the noise (latentDim 1) collapses: warned every epoch, eval records in metrics.jsonl', async () => {
    // One noise number per image: each class's images differ in one direction only, and the tiny
    // generator barely uses it, so every generated class is far less varied than its real images.
    const config = join(dir, 'collapse.json');
    await fs.writeFile(config, JSON.stringify({ generator: { latentDim: 1 } }));
    const run = join(dir, 'collapse');
    const r = runCli([
      'acgan',
      'train',
      ...['--data', sub, '--classes', 'MEL,NV', '--preset', 'test', '--size', '16', '--epochs', '2'],
      ...['--config', config, '--eval-per-class', '6', '--out', run, '--json'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    JSON.parse(r.stdout); // stdout stays the one result document; warnings go to stderr
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('skingan: warning: mode collapse'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(
      /^skingan: warning: mode collapse: diversity under 0\.5 in 2 classes: MEL 0\.\d\d, NV 0\.\d\d \(epoch 1\)$/,
    );
    const evals = evalsOf(await readJsonl(join(run, 'metrics.jsonl')));
    expect(evals.map((e) => e.epoch)).toEqual([0, 1]);
    for (const e of evals) {
      expect(e).toMatchObject({
        extractor: 'test-random-conv (64-d, 32px)',
        generated: 12,
        real: 24,
        warnings: [expect.stringMatching(/^mode collapse: diversity under 0\.5 in 2 classes/)],
      });
      expect(e.fid as number).toBeGreaterThan(0);
      expect(e.diversityWorst as number).toBeLessThan(0.5);
      expect(Object.keys(e.diversity as object)).toEqual(['MEL', 'NV']);
      expect(e.fidelity).toBeUndefined();
    }
    const config2 = JSON.parse(await fs.readFile(join(run, 'config.json'), 'utf8'));
    expect(config2.eval).toEqual({
      every: 1,
      maxShare: 1,
      perClass: 6,
      realPerClass: 24,
      extractor: 'auto',
    });
  });

  it('--eval-every 0 writes no eval records; a resume may change the eval settings', async () => {
    const run = join(dir, 'off');
    const args = ['acgan', 'train', '--data', sub, '--classes', 'MEL,NV', '--preset', 'test', '--size', '16'];
    const r = runCli([...args, '--epochs', '1', '--eval-every', '0', '--out', run, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(evalsOf(await readJsonl(join(run, 'metrics.jsonl')))).toEqual([]);
    const resumed = runCli([
      ...args,
      '--epochs',
      '2',
      '--eval-every',
      '1',
      '--resume',
      '--out',
      run,
      '--json',
    ]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(evalsOf(await readJsonl(join(run, 'metrics.jsonl'))).map((e) => e.epoch)).toEqual([1]);
  });

  it('--eval-classifier adds class fidelity (generated and real sample); a folder without a classifier is an error naming it', async () => {
    await initBackend({ backend: 'wasm', log: null });
    const clf = createResNetClassifier('resnet-small', { labelSpace: ISIC2019, inputSize: 32, seed: 3 });
    const clfDir = join(dir, 'classifier');
    await clf.save(clfDir);
    clf.dispose();
    const args = ['acgan', 'train', '--data', sub, '--classes', 'MEL,NV', '--preset', 'test', '--size', '16'];
    const run = join(dir, 'fidelity');
    const r = runCli([...args, '--epochs', '1', '--eval-classifier', clfDir, '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/eval \(epoch 1\): .* fidelity \d\.\d\d \(real sample \d\.\d\d\)/);
    const [e] = evalsOf(await readJsonl(join(run, 'metrics.jsonl')));
    expect(e).toMatchObject({ classifier: clfDir });
    for (const k of ['fidelity', 'fidelityReal']) {
      expect(e![k] as number).toBeGreaterThanOrEqual(0);
      expect(e![k] as number).toBeLessThanOrEqual(1);
    }
    expect(Object.keys(e!.fidelityPerClass as object)).toEqual(['MEL', 'NV']);

    const bad = runCli([...args, '--epochs', '1', '--eval-classifier', sub, '--out', join(dir, 'bad')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${sub}: no trained classifier here`);
    const nope = runCli([...args, '--epochs', '1', '--eval-extractor', 'nope', '--out', join(dir, 'nope')]);
    expect(nope.code).toBe(2);
    expect(nope.stderr).toContain(
      '--eval-extractor nope: not "resnet50", "test", or a folder with a model.json',
    );
  });

  it('cyclegan train NV → MEL evaluates the translations against real MEL images', async () => {
    const run = join(dir, 'cyclegan');
    const r = runCli([
      'cyclegan',
      'train',
      ...['--data', sub, '--a', 'NV', '--b', 'MEL', '--preset', 'test', '--size', '32', '--epochs', '1'],
      ...['--eval-per-class', '4', '--out', run],
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /eval \(epoch 1\): FID \d+\.\d {2}KID -?\d+\.\d{4} {2}diversity \d\.\d\d \(worst MEL \d\.\d\d\)/,
    );
    const evals = evalsOf(await readJsonl(join(run, 'metrics.jsonl')));
    expect(evals).toHaveLength(1);
    expect(evals[0]).toMatchObject({ epoch: 0, generated: 4, real: 12 });
    expect(Object.keys(evals[0]!.diversity as object)).toEqual(['MEL']);
  });
});
