import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset, makeSplit, readLabelsCsv, type Split } from '@skingan/data';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { resolveExperimentConfig } from './config.js';
import { readManifest } from './manifest.js';

// The cache of §1 of issue 14, end to end on the generated demo set (no ../shared needed): one
// label of the experiment's data changes, `--resume` reruns exactly the jobs that read it.

let dir: string;
let data: string;
let configFile: string;
const env = () => ({ SKINGAN_CACHE: join(dir, 'cache') });

const HEADER = 'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK';
const row = (id: string, cls: string) =>
  [
    id,
    ...HEADER.split(',')
      .slice(1)
      .map((c) => (c === cls ? '1.0' : '0.0')),
  ].join(',');
const writeLabels = (rows: [string, string][]) =>
  fs.writeFile(join(data, 'labels.csv'), `${[HEADER, ...rows.map(([id, c]) => row(id, c))].join('\n')}\n`);

/**
 * 13 MEL and 12 NV images and the 70/10/20 split of the config: relabelling one held-out MEL image
 * as NV can leave the train part as it was (9 + 9 train images either way: enough for a batch of
 * 16). Among the
 * choices of the dropped NV image and the relabelled MEL one, the first whose train part is
 * unchanged (checked with makeSplit, as the split job computes it) and whose val part changed.
 */
async function chooseRelabel(
  demo: string,
  seed: number,
  fractions: Split['fractions'],
): Promise<{ rows: [string, string][]; relabel: string }> {
  const csv = await readLabelsCsv(join(demo, 'labels.csv'));
  const mel = csv.rows.filter((r) => r.className === 'MEL').map((r) => r.id);
  const nv = csv.rows.filter((r) => r.className === 'NV').map((r) => r.id);
  await fs.mkdir(join(data, 'images'));
  for (const r of csv.rows.filter((r) => r.className === 'MEL' || r.className === 'NV'))
    await fs.symlink(join(demo, 'images', `${r.id}.png`), join(data, 'images', `${r.id}.png`));
  const splitOf = async (rows: [string, string][]) => {
    await writeLabels(rows);
    return makeSplit(await loadDataset(data), { seed, fractions });
  };
  for (const dropped of nv) {
    const rows: [string, string][] = [
      ...mel.map((id): [string, string] => [id, 'MEL']),
      ...nv.filter((id) => id !== dropped).map((id): [string, string] => [id, 'NV']),
    ];
    await fs.rm(join(data, 'images', `${dropped}.png`));
    const before = await splitOf(rows);
    for (const id of [...before.ids.val, ...before.ids.test].filter((i) => mel.includes(i))) {
      const after = await splitOf(rows.map(([i, c]): [string, string] => [i, i === id ? 'NV' : c]));
      if (
        JSON.stringify(after.ids.train) === JSON.stringify(before.ids.train) &&
        JSON.stringify(after.ids.val) !== JSON.stringify(before.ids.val)
      ) {
        await writeLabels(rows);
        return { rows, relabel: id };
      }
    }
    await fs.symlink(join(demo, 'images', `${dropped}.png`), join(data, 'images', `${dropped}.png`));
  }
  throw new Error('no relabel leaves the train part unchanged');
}

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cache-e2e-'));
  const demo = join(dir, 'demo');
  expect(runCli(['data', 'demo-set', '--out', demo, '--per-class', '13', '--size', '32'], env()).code).toBe(
    0,
  );
  data = join(dir, 'data');
  await fs.mkdir(data);
  configFile = join(dir, 'experiment.json');
  await fs.writeFile(configFile, JSON.stringify({ fractions: { train: 0.7, val: 0.1, test: 0.2 } }));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('skingan experiment --resume after one label changed (demo set, test preset)', () => {
  it('reruns the split, every classifier and prediction, and reuses the GAN jobs whose train data did not change', async () => {
    const config = await resolveExperimentConfig('test', configFile);
    const { rows, relabel } = await chooseRelabel(join(dir, 'demo'), config.seed, config.fractions);
    const out = join(dir, 'exp');
    const run = (resume: boolean) =>
      runCli(
        [
          'experiment',
          'noise2img',
          '--data',
          data,
          '--preset',
          'test',
          '--config',
          configFile,
          '--jobs',
          '2',
          '--out',
          out,
          ...(resume ? ['--resume'] : []),
        ],
        env(),
      );
    const first = run(false);
    expect(first.code, first.stderr).toBe(0);
    const manifest1 = await readManifest(out);
    expect(Object.values(manifest1.results!).every((r) => r.status === 'done')).toBe(true);

    // Same data again: everything is reused.
    const same = run(true);
    expect(same.code, same.stderr).toBe(0);
    const manifest2 = await readManifest(out);
    expect(Object.values(manifest2.results!).every((r) => r.status === 'reused')).toBe(true);

    await writeLabels(rows.map(([i, c]): [string, string] => [i, i === relabel ? 'NV' : c]));
    const second = run(true);
    expect(second.code, second.stderr).toBe(0);
    const manifest = await readManifest(out);
    expect(manifest.dataFingerprint).not.toBe(manifest1.dataFingerprint);
    const status = manifest.results!;
    const ids = Object.keys(status);
    const rerun = ids.filter((id) => status[id]!.status === 'done').sort();
    const reused = ids.filter((id) => status[id]!.status === 'reused').sort();
    expect(rerun.length + reused.length).toBe(ids.length); // nothing failed or skipped
    const classifierJobs = ids.filter((id) => id.startsWith('classifier/') || id.startsWith('predict/'));
    expect(classifierJobs).toHaveLength(2 * 5); // ISIC-0, acgan-4/8, cyclegan-4/8
    expect(rerun).toEqual(
      [
        'split',
        'real-test',
        ...classifierJobs,
        'fid/acgan',
        'kid/acgan',
        'fid/cyclegan',
        'kid/cyclegan',
      ].sort(),
    );
    for (const gan of [
      'acgan',
      'acgan-samples',
      'cyclegan/MEL',
      'cyclegan/NV',
      'translate/MEL',
      'translate/NV',
    ])
      expect(reused).toContain(gan);
    // The rerun jobs wrote new folders; the reused ones are the first run's.
    const out1 = new Map(manifest1.jobs.map((j) => [j.id, j.out]));
    for (const j of manifest.jobs) expect(j.out === out1.get(j.id)).toBe(reused.includes(j.id));
  }, 1_800_000);
});
