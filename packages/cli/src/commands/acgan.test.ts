import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { pngSize, readJsonl, testImages } from '../test-utils/shared-data.js';

const MINI = testImages().dir;

const CLASSES = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC'];

const stepsOf = (records: Record<string, unknown>[]) =>
  records.filter((r) => r.type === 'step').map((r) => r.step as number);

describe(`skingan acgan (${testImages().name})`, () => {
  let dir: string;
  let sub: string;
  let run: string;
  let trained: { code: number; stdout: string; stderr: string };
  const train = (out: string, ...extra: string[]) =>
    runCli(['acgan', 'train', '--data', sub, '--preset', 'test', '--size', '32', '--out', out, ...extra]);

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-acgan-'));
    sub = join(dir, 'sub');
    const s = runCli(['data', 'subset', MINI, '--classes', 'MEL,NV', '--per-class', '12', '--out', sub]);
    expect(s.code, s.stderr).toBe(0);
    run = join(dir, 'R');
    trained = train(run, '--epochs', '2', '--json');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('train --epochs 2 writes config, metrics, run.json, a checkpoint and one 8-row grid per epoch', async () => {
    expect(trained.code, trained.stderr).toBe(0);
    const summary = JSON.parse(trained.stdout);
    const runJson = JSON.parse(await fs.readFile(join(run, 'run.json'), 'utf8'));
    expect(runJson).toMatchObject({ kind: 'acgan', status: 'completed' });
    const total = 2 * runJson.stepsPerEpoch;
    expect(summary).toMatchObject({ run, status: 'completed', step: total, epoch: 2 });

    const config = JSON.parse(await fs.readFile(join(run, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ preset: 'test', imageSize: 32, epochs: 2 });
    // All 8 ISIC classes (the label space is not narrowed to the classes present).
    expect(config.labelSpace.classes).toEqual(CLASSES);

    const metrics = await readJsonl(join(run, 'metrics.jsonl'));
    expect(stepsOf(metrics)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(metrics.filter((r) => r.type === 'epoch').map((r) => r.epoch)).toEqual([0, 1]);
    for (const r of metrics.filter((r) => r.type === 'step')) {
      expect(Number.isFinite(r.d) && Number.isFinite(r.g)).toBe(true);
    }

    const latest = JSON.parse(await fs.readFile(join(run, 'checkpoints', 'latest.json'), 'utf8'));
    expect(latest.step).toBe(total);
    expect(existsSync(join(run, 'checkpoints', latest.dir, 'generator', 'model.json'))).toBe(true);

    expect((await fs.readdir(join(run, 'samples'))).sort()).toEqual(['epoch-001.png', 'epoch-002.png']);
    // One row per class of samplesPerClass 32² images, 2 px padding around and between them,
    // and the class names in a column on the left.
    const cols = config.training.samplesPerClass as number;
    for (const name of ['epoch-001.png', 'epoch-002.png']) {
      const [w, h] = await pngSize(join(run, 'samples', name));
      expect(h).toBe(2 + 8 * (32 + 2));
      expect(w).toBeGreaterThan(2 + cols * (32 + 2));
    }
  });

  it('sample --per-class 3 writes a synthetic dataset with 3 images per class', async () => {
    const out = join(dir, 'S');
    const r = runCli(['acgan', 'sample', '--model', run, '--per-class', '3', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const stats = runCli(['data', 'stats', out, '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    const parsed = JSON.parse(stats.stdout);
    expect(parsed).toMatchObject({ total: 24, problems: [] });
    expect(parsed.perClass).toEqual(Object.fromEntries(CLASSES.map((c) => [c, 3])));
    expect(parsed.roots[0].synthetic).toBe(true);
    const provenance = await readJsonl(join(out, 'provenance.jsonl'));
    expect(provenance).toHaveLength(24);
    const step = JSON.parse(trained.stdout).step;
    // Trained without training.emaDecay: G's own weights drew them.
    for (const p of provenance)
      expect(p).toMatchObject({ generator: 'acgan', run, step, weights: 'raw', size: 32 });
    const [w, h] = await pngSize(join(out, 'images', `${provenance[0]!.id as string}.png`));
    expect([w, h]).toEqual([32, 32]);
  });

  it('refuses an existing --out without --resume (exit 2), leaving the run as it was', async () => {
    const before = await fs.readFile(join(run, 'metrics.jsonl'), 'utf8');
    const r = train(run, '--epochs', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${run}: a run already exists here`);
    expect(r.stderr).toContain('pass --resume to continue it');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await fs.readFile(join(run, 'metrics.jsonl'), 'utf8')).toBe(before);
  });

  it('--resume on a finished run trains no step again; with --epochs 3 it adds exactly one epoch', async () => {
    const steps = stepsOf(await readJsonl(join(run, 'metrics.jsonl')));
    const again = train(run, '--resume', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'completed', step: steps.length });
    expect(stepsOf(await readJsonl(join(run, 'metrics.jsonl')))).toEqual(steps);

    const more = train(run, '--resume', '--epochs', '3', '--json');
    expect(more.code, more.stderr).toBe(0);
    const perEpoch = steps.length / 2;
    expect(JSON.parse(more.stdout)).toMatchObject({ step: 3 * perEpoch, epoch: 3 });
    expect(stepsOf(await readJsonl(join(run, 'metrics.jsonl')))).toEqual(
      Array.from({ length: 3 * perEpoch }, (_, i) => i + 1),
    );
    expect(existsSync(join(run, 'samples', 'epoch-003.png'))).toBe(true);
  });

  it('bad --size or an unknown class: exit 2 naming the value, nothing written', async () => {
    const size = train(join(dir, 'bad-size'), '--size', '33');
    expect(size.code).toBe(2);
    expect(size.stderr).toContain('--size 33: must be a power of two from 8 to 512');
    const cls = train(join(dir, 'bad-class'), '--classes', 'MEL,XYZ');
    expect(cls.code).toBe(2);
    expect(cls.stderr).toContain('--classes: unknown class "XYZ"');
    expect(cls.stderr).toContain('use one of: MEL, NV, BCC, AK, BKL, DF, VASC, SCC');
    const sample = runCli([
      'acgan',
      'sample',
      '--model',
      run,
      '--per-class',
      '1',
      '--classes',
      'FOO',
      '--out',
      join(dir, 'bad-sample'),
    ]);
    expect(sample.code).toBe(2);
    expect(sample.stderr).toContain('--classes: unknown class "FOO"');
    for (const name of ['bad-size', 'bad-class', 'bad-sample'])
      expect(existsSync(join(dir, name))).toBe(false);
    for (const r of [size, cls, sample]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
