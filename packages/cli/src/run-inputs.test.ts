import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './test-utils/run-cli.js';

// Issue 20 item 7: a training run records the fingerprints of the images it learns from, and
// `--resume` on other images is refused (naming the input and both fingerprints) unless
// `--allow-data-change`. On the generated demo set, so it runs without ../shared.

let dir: string;
const env = () => ({ SKINGAN_CACHE: join(dir, 'cache') });
const cli = (args: string[]) => runCli(args, env());
/** Tiny training runs: the test preset at 32². */
const TINY = ['--preset', 'test', '--size', '32'];
const readJson = async (path: string) => JSON.parse(await fs.readFile(path, 'utf8'));
const sha = async (path: string) =>
  createHash('sha256')
    .update(await fs.readFile(path))
    .digest('hex');

/** A fresh demo set (8 classes × `perClass`, 32²) at `dir/name`. */
function demoSet(name: string, perClass = 10): string {
  const out = join(dir, name);
  const r = cli(['data', 'demo-set', '--out', out, '--per-class', String(perClass), '--size', '32']);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

/** Moves image `id` to another class (MEL, or NV if it is MEL) in a dataset's labels.csv. */
async function relabel(data: string, id: string): Promise<void> {
  const path = join(data, 'labels.csv');
  const lines = (await fs.readFile(path, 'utf8')).trimEnd().split('\n');
  const header = lines[0]!.split(',');
  const i = lines.findIndex((l) => l.startsWith(`${id},`));
  expect(i).toBeGreaterThan(0);
  const to = lines[i]!.split(',')[header.indexOf('MEL')]!.startsWith('1') ? 'NV' : 'MEL';
  lines[i] = [id, ...header.slice(1).map((c) => (c === to ? '1.0' : '0.0'))].join(',');
  await fs.writeFile(path, `${lines.join('\n')}\n`);
}

const firstId = async (data: string, cls: string) => {
  const lines = (await fs.readFile(join(data, 'labels.csv'), 'utf8')).trim().split('\n');
  const col = lines[0]!.split(',').indexOf(cls);
  return lines
    .slice(1)
    .find((l) => l.split(',')[col]!.startsWith('1'))!
    .split(',')[0]!;
};

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-run-inputs-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('--resume checks the training data against run.json', () => {
  it('acgan train --resume: same data continues; one label changed is refused naming --data and both fingerprints; --allow-data-change continues and records it', async () => {
    const data = demoSet('acgan-data');
    const run = join(dir, 'acgan-run');
    const train = (...extra: string[]) =>
      cli(['acgan', 'train', '--data', data, ...TINY, '--out', run, ...extra]);
    const first = train('--epochs', '1');
    expect(first.code, first.stderr).toBe(0);
    const recorded = (await readJson(join(run, 'run.json'))).inputs.data;
    expect(recorded).toMatchObject({ what: `--data ${data}`, images: 80 });
    expect(recorded.fingerprint).toMatch(/^[0-9a-f]{64}$/);

    const same = train('--epochs', '2', '--resume');
    expect(same.code, same.stderr).toBe(0);
    expect((await readJson(join(run, 'run.json'))).inputs.data.fingerprint).toBe(recorded.fingerprint);

    await relabel(data, await firstId(data, 'MEL'));
    const before = {
      runJson: await sha(join(run, 'run.json')),
      metrics: await sha(join(run, 'metrics.jsonl')),
    };
    const refused = train('--epochs', '3', '--resume');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--resume with other data: --data ${data} has fingerprint `);
    expect(refused.stderr).toContain(`the run started with ${recorded.fingerprint.slice(0, 16)} (80 images)`);
    expect(refused.stderr).toContain('--allow-data-change');
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack without --debug
    // Nothing of the run changed.
    expect({
      runJson: await sha(join(run, 'run.json')),
      metrics: await sha(join(run, 'metrics.jsonl')),
    }).toEqual(before);

    const allowed = train('--epochs', '3', '--resume', '--allow-data-change');
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain('warning: --resume with other data');
    const runJson = await readJson(join(run, 'run.json'));
    const now = runJson.inputs.data.fingerprint;
    expect(now).not.toBe(recorded.fingerprint);
    // The refusal named the new fingerprint too.
    expect(refused.stderr).toContain(`has fingerprint ${now.slice(0, 16)} (80 images)`);
    expect(runJson.dataChanges).toEqual([
      { at: expect.any(String), input: 'data', from: recorded.fingerprint, to: now },
    ]);
  }, 900_000);

  it('cyclegan train --resume with one image of domain B changed is refused naming --b', async () => {
    const data = demoSet('cyclegan-data', 6);
    const run = join(dir, 'cyclegan-run');
    const train = (...extra: string[]) =>
      cli(['cyclegan', 'train', '--data', data, '--a', 'MEL', '--b', 'NV', ...TINY, '--out', run, ...extra]);
    const first = train('--epochs', '1');
    expect(first.code, first.stderr).toBe(0);
    const inputs = (await readJson(join(run, 'run.json'))).inputs;
    expect(Object.keys(inputs)).toEqual(['a', 'b']);
    // Same bytes of another image: the content changed, the size may not have.
    const nv = await firstId(data, 'NV');
    await fs.copyFile(
      join(data, 'images', `${await firstId(data, 'BCC')}.png`),
      join(data, 'images', `${nv}.png`),
    );
    const refused = train('--epochs', '2', '--resume');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`--resume with other data: --b NV has fingerprint `);
    expect(refused.stderr).toContain(`the run started with ${inputs.b.fingerprint.slice(0, 16)} (6 images)`);
  }, 900_000);

  it('classifier train --resume with a relabelled validation image is refused naming the validation images', async () => {
    const data = demoSet('classifier-data', 10);
    const split = join(dir, 'split.json');
    expect(cli(['data', 'split', data, '--seed', '3', '--out', split]).code).toBe(0);
    const run = join(dir, 'classifier-run');
    const train = (...extra: string[]) =>
      cli([
        'classifier',
        'train',
        '--data',
        data,
        '--split',
        split,
        ...TINY,
        '--no-augment',
        '--out',
        run,
        ...extra,
      ]);
    const first = train('--epochs', '1');
    expect(first.code, first.stderr).toBe(0);
    const inputs = (await readJson(join(run, 'run.json'))).inputs;
    expect(inputs.train.what).toBe(`training images (--data ${data} (train part of ${split}))`);
    const valId = (await readJson(split)).ids.val[0] as string;
    await relabel(data, valId);
    const refused = train('--epochs', '2', '--resume');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `--resume with other data: validation images (--data ${data} (val part of ${split})) has fingerprint `,
    );
    expect(refused.stderr).toContain(inputs.val.fingerprint.slice(0, 16));
  }, 900_000);
});
