import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { pngSize } from '../test-utils/shared-data.js';
import { runAll, tinyArgs } from '../test-utils/tiny-set.js';

/** No command overwrites an input it read, or a file it did not write, without --force. */
const sha = async (path: string) =>
  createHash('sha256')
    .update(await fs.readFile(path))
    .digest('hex');

describe('outputs: no command overwrites an input or a file it did not write without --force', () => {
  let dir: string;
  let data: string;
  let labels: string;
  let split: string;
  let model: string;
  let acgan: string;
  const env = { SKINGAN_THREADS: '1' };
  const cli = (...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-outputs-'));
    data = join(dir, 'D');
    labels = join(data, 'labels.csv');
    split = join(dir, 'split.json');
    model = join(dir, 'K');
    acgan = join(dir, 'A');
    runAll([
      tinyArgs.demoSet(data),
      tinyArgs.split(data, split),
      tinyArgs.classifier(data, split, model, 1),
      tinyArgs.acgan(data, acgan, 1),
    ]);
  }, 600_000);
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('classifier predict --out D/labels.csv: refused (exit 2) naming the file and --force, the ground truth unchanged', async () => {
    const before = await sha(labels);
    const r = cli('classifier', 'predict', '--model', model, '--data', data, '--out', labels);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `skingan: ${labels}: already exists and was not written by \`skingan classifier predict\``,
    );
    expect(r.stderr).toContain('hint: choose another output, or pass --force to overwrite it');
    expect(await sha(labels)).toBe(before);
  });

  it('classifier predict: rewrites its own CSV; another file there is refused until --force', async () => {
    const csv = join(dir, 'preds.csv');
    expect(cli('classifier', 'predict', '--model', model, '--data', data, '--out', csv).code).toBe(0);
    const again = cli('classifier', 'predict', '--model', model, '--data', data, '--out', csv);
    expect(again.code, again.stderr).toBe(0);
    const mine = join(dir, 'mine.csv');
    await fs.writeFile(mine, 'my notes\n');
    const refused = cli('classifier', 'predict', '--model', model, '--data', data, '--out', mine);
    expect(refused.code).toBe(2);
    expect(await fs.readFile(mine, 'utf8')).toBe('my notes\n');
    const forced = cli('classifier', 'predict', '--model', model, '--data', data, '--out', mine, '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect((await fs.readFile(mine, 'utf8')).split('\n')[0]).toMatch(/^image,MEL,NV,BCC,AK/);
  });

  it('classifier eval --out its --split file: refused as an input, the split unchanged', async () => {
    const before = await sha(split);
    const r = cli('classifier', 'eval', '--model', model, '--data', data, '--split', split, '--out', split);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `skingan: ${split}: is an input of \`skingan classifier eval\`; it would be overwritten`,
    );
    expect(await sha(split)).toBe(before);
  });

  it('data split --out a file another command wrote: refused, naming that command', async () => {
    const csv = join(dir, 'preds.csv');
    const before = await sha(csv);
    const r = cli('data', 'split', data, '--seed', '2', '--out', csv);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `skingan: ${csv}: already exists, written by \`skingan classifier predict\`, not by \`skingan data split\``,
    );
    expect(await sha(csv)).toBe(before);
    expect(cli('data', 'split', data, '--seed', '2', '--out', split).code).toBe(0); // its own file
  });

  it('acgan sample --out a dataset data prepare wrote: refused, the dataset unchanged', async () => {
    const prepared = join(dir, 'P');
    expect(cli('data', 'prepare', data, '--size', '16', '--out', prepared).code).toBe(0);
    const before = await sha(join(prepared, 'labels.csv'));
    const r = cli('acgan', 'sample', '--model', acgan, '--per-class', '1', '--out', prepared);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('written by `skingan data prepare`, not by `skingan acgan sample`');
    expect(await sha(join(prepared, 'labels.csv'))).toBe(before);
  });

  it('acgan sample twice into one --out: the second replaces the first (no "already holds a dataset")', async () => {
    const out = join(dir, 'S');
    expect(cli('acgan', 'sample', '--model', acgan, '--per-class', '1', '--out', out).code).toBe(0);
    const r = cli('acgan', 'sample', '--model', acgan, '--per-class', '2', '--out', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ out, count: 16 });
    expect(await fs.readdir(join(out, 'images'))).toHaveLength(16);
  });

  it('report DIR: a report.html it did not write is left alone until --force', async () => {
    const html = join(acgan, 'report.html');
    await fs.writeFile(html, '<p>my own page</p>');
    const r = cli('report', acgan);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`skingan: ${html}: already exists and was not written by \`skingan report\``);
    expect(await fs.readFile(html, 'utf8')).toBe('<p>my own page</p>');
    expect(cli('report', acgan, '--force').code).toBe(0);
    expect(cli('report', acgan).code).toBe(0); // now its own
  });

  it('data prepare --size 32 then --size 64 into one --out: refused naming both sizes; --force redoes every image at 64; --format jpg leaves one file per id', async () => {
    const out = join(dir, 'P2');
    expect(cli('data', 'prepare', data, '--size', '32', '--out', out).code).toBe(0);
    const r = cli('data', 'prepare', data, '--size', '64', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`skingan: ${out}: holds images prepared as 32×32 png`);
    expect(r.stderr).toContain('this run asks for 64×64 png');
    const forced = cli('data', 'prepare', data, '--size', '64', '--out', out, '--force', '--json');
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ total: 32, written: 32, reused: 0 });
    const names = await fs.readdir(join(out, 'images'));
    expect(names).toHaveLength(32);
    for (const name of names) expect(await pngSize(join(out, 'images', name))).toEqual([64, 64]);
    expect(JSON.parse(await fs.readFile(join(out, 'dataset.json'), 'utf8'))).toMatchObject({ size: 64 });
    const jpg = cli('data', 'prepare', data, '--size', '64', '--format', 'jpg', '--out', out, '--force');
    expect(jpg.code, jpg.stderr).toBe(0);
    const after = await fs.readdir(join(out, 'images'));
    expect(after.sort()).toEqual(names.map((n) => n.replace(/\.png$/, '.jpg')).sort());
  });

  it('cyclegan translate --out its --data folder: refused as an input', () => {
    const r = cli('cyclegan', 'translate', '--model', acgan, '--data', data, '--out', data);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`skingan: ${data}: is an input of \`skingan cyclegan translate\``);
  });
});
