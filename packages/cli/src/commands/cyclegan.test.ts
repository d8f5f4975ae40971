import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { pngSize, readJsonl, testImages } from '../test-utils/shared-data.js';

const MINI = testImages().dir;

const CLASSES = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC'];

/** labels.csv as id → class name (the one-hot column set to 1). */
async function readLabels(dir: string): Promise<Map<string, string>> {
  const [header, ...rows] = (await fs.readFile(join(dir, 'labels.csv'), 'utf8')).trim().split('\n');
  const columns = header!.split(',').slice(1);
  return new Map(
    rows.map((row) => {
      const [id, ...values] = row.split(',');
      const set = values.map(Number).flatMap((v, i) => (v === 1 ? [columns[i]!] : []));
      expect(set).toHaveLength(1);
      return [id!, set[0]!];
    }),
  );
}

describe(`skingan cyclegan (${testImages().name})`, () => {
  let dir: string;
  let sub: string;
  let run: string;
  let trained: { code: number; stdout: string; stderr: string };
  const idsOf = async (cls: string) =>
    [...(await readLabels(sub))].filter(([, c]) => c === cls).map(([id]) => id);

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-cyclegan-'));
    sub = join(dir, 'sub');
    const s = runCli(['data', 'subset', MINI, '--classes', 'MEL,NV', '--per-class', '12', '--out', sub]);
    expect(s.code, s.stderr).toBe(0);
    run = join(dir, 'R');
    trained = runCli([
      'cyclegan',
      'train',
      '--data',
      sub,
      '--a',
      'NV',
      '--b',
      'MEL',
      '--preset',
      'test',
      '--size',
      '32',
      '--epochs',
      '1',
      '--out',
      run,
      '--json',
    ]);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('train NV ↔ MEL writes the run: config, metrics, run.json with the domains, checkpoint, sample grids', async () => {
    expect(trained.code, trained.stderr).toBe(0);
    const runJson = JSON.parse(await fs.readFile(join(run, 'run.json'), 'utf8'));
    expect(runJson).toMatchObject({
      kind: 'cyclegan',
      status: 'completed',
      domains: { A: { class: 'NV', images: 12, data: [sub] }, B: { class: 'MEL', images: 12, data: [sub] } },
    });
    const steps = runJson.stepsPerEpoch as number;
    expect(steps).toBe(12); // batch size 1: one epoch is one pass over the larger domain
    expect(JSON.parse(trained.stdout)).toMatchObject({ run, status: 'completed', step: steps, epoch: 1 });

    const config = JSON.parse(await fs.readFile(join(run, 'config.json'), 'utf8'));
    expect(config).toMatchObject({ preset: 'test', size: 32, epochs: 1 });

    const metrics = await readJsonl(join(run, 'metrics.jsonl'));
    const stepRecords = metrics.filter((r) => r.type === 'step');
    expect(stepRecords.map((r) => r.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
    for (const r of stepRecords) {
      for (const k of ['G', 'D_A', 'D_B', 'cycle_A', 'cycle_B']) expect(Number.isFinite(r[k])).toBe(true);
    }
    const latest = JSON.parse(await fs.readFile(join(run, 'checkpoints', 'latest.json'), 'utf8'));
    expect(latest.step).toBe(steps);

    // Grids at the end of the epoch: a row per sample image of real, translated, reconstructed.
    const grids = (await fs.readdir(join(run, 'samples'))).sort();
    expect(grids).toEqual([
      `step-${String(steps).padStart(7, '0')}-a2b2a.png`,
      expect.stringMatching(/b2a2b/),
    ]);
    for (const name of grids) {
      const [w, h] = await pngSize(join(run, 'samples', name));
      expect(h).toBe(2 + config.sampleCount * (32 + 2));
      expect(w).toBeGreaterThan(2 + 3 * (32 + 2));
    }
  });

  it('translate a2b --class NV writes one MEL image per NV image, provenance naming each source', async () => {
    const out = join(dir, 'T');
    const r = runCli([
      'cyclegan',
      'translate',
      '--model',
      run,
      '--direction',
      'a2b',
      '--data',
      sub,
      '--class',
      'NV',
      '--out',
      out,
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const nv = await idsOf('NV');
    expect(nv).toHaveLength(12);
    expect(JSON.parse(r.stdout)).toMatchObject({
      out,
      run,
      direction: 'a2b',
      label: 'MEL',
      count: nv.length,
    });

    const labels = await readLabels(out);
    expect(labels.size).toBe(nv.length);
    expect(new Set(labels.values())).toEqual(new Set(['MEL']));
    const provenance = await readJsonl(join(out, 'provenance.jsonl'));
    expect(provenance.map((p) => p.id).sort()).toEqual([...labels.keys()].sort());
    expect(provenance.map((p) => p.source).sort()).toEqual([...nv].sort());
    for (const p of provenance) {
      expect(p).toMatchObject({
        class: 'MEL',
        generator: 'cyclegan',
        run,
        direction: 'a2b',
        sourceClass: 'NV',
      });
      expect(await pngSize(join(out, 'images', `${p.id as string}.png`))).toEqual([32, 32]);
    }
    const stats = JSON.parse(runCli(['data', 'stats', out, '--json']).stdout);
    expect(stats).toMatchObject({ total: 12, perClass: { MEL: 12 }, problems: [] });
    expect(stats.roots[0].synthetic).toBe(true);
  });

  it('translate b2a labels the images with domain A’s class', async () => {
    const out = join(dir, 'T-b2a');
    const r = runCli([
      'cyclegan',
      'translate',
      '--model',
      run,
      '--direction',
      'b2a',
      '--data',
      sub,
      '--class',
      'MEL',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const labels = await readLabels(out);
    expect(labels.size).toBe((await idsOf('MEL')).length);
    expect(new Set(labels.values())).toEqual(new Set(['NV']));
  });

  it('unknown or absent classes: exit 2 with a hint, nothing written', async () => {
    const translate = (out: string, ...extra: string[]) =>
      runCli(['cyclegan', 'translate', '--model', run, '--data', sub, '--out', join(dir, out), ...extra]);
    const unknown = translate('x1', '--class', 'XYZ');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--class: unknown class "XYZ"');
    expect(unknown.stderr).toContain(`use one of: ${CLASSES.join(', ')}`);
    const label = translate('x2', '--class', 'NV', '--label', 'FOO');
    expect(label.code).toBe(2);
    expect(label.stderr).toContain('--label: unknown class "FOO"');
    const absent = translate('x3', '--class', 'BCC');
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(`no BCC images to translate in ${sub}`);

    const train = runCli([
      'cyclegan',
      'train',
      '--data',
      sub,
      '--a',
      'XYZ',
      '--b',
      'MEL',
      '--preset',
      'test',
      '--out',
      join(dir, 'x4'),
    ]);
    expect(train.code).toBe(2);
    expect(train.stderr).toContain('--a XYZ: neither a dataset folder nor an ISIC 2019 class');
    expect(train.stderr).toContain(`a class among ${CLASSES.join(', ')}`);
    for (const r of [unknown, label, absent, train]) expect(r.stderr).not.toMatch(/\n\s+at /);
    for (const out of ['x1', 'x2', 'x3', 'x4']) expect(existsSync(join(dir, out))).toBe(false);
  });
});
