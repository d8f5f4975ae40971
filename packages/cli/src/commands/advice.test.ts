import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../test-utils/run-cli.js';

const HEADER = 'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK';
const CLASSES = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC'];
const oneHot = (c: string) => [...CLASSES, 'UNK'].map((x) => (x === c ? '1.0' : '0.0')).join(',');

/** As root, permissions do not apply: run as nobody where that is possible. */
const asRoot = process.getuid?.() === 0;
const setpriv = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const canTestPermissions = !asRoot || setpriv !== undefined;

/** Issue 20 items 10 and 11: misleading or missing advice, and quiet acceptance, on a tiny demo set. */
describe('clear advice and no quiet acceptance', () => {
  let dir: string;
  let data: string;
  let ids: string[];
  const p = (...parts: string[]) => join(dir, ...parts);

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-advice-'));
    await fs.chmod(dir, 0o755);
    data = p('D');
    const r = runCli(['data', 'demo-set', '--out', data, '--per-class', '2', '--size', '32']);
    expect(r.code, r.stderr).toBe(0);
    ids = (await fs.readFile(join(data, 'labels.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]!);
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A copy of the demo set to damage. */
  async function copyData(name: string): Promise<string> {
    await fs.cp(data, p(name), { recursive: true });
    return p(name);
  }

  it('data stats on a zero-byte and a truncated image → "2 problems" naming both with the reason (not "no problems"); --no-decode says it did not check', async () => {
    const bad = await copyData('stats');
    await fs.writeFile(join(bad, 'images', `${ids[0]}.png`), '');
    const good = await fs.readFile(join(data, 'images', `${ids[1]}.png`));
    await fs.writeFile(join(bad, 'images', `${ids[1]}.png`), good.subarray(0, 60));
    const r = runCli(['data', 'stats', bad]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('2 problems (see warnings)');
    expect(r.stderr).toContain(`${ids[0]}.png: cannot decode image: the file is empty (0 bytes)`);
    expect(r.stderr).toMatch(new RegExp(`${ids[1]}\\.png: cannot decode image: \\S`));
    expect(runCli(['data', 'stats', data]).stdout).toContain('no problems (every image decoded)');
    expect(runCli(['data', 'stats', bad, '--no-decode']).stdout).toContain(
      'no problems (images not decoded: --no-decode)',
    );
  });

  it('data split of 2 images per class → warns "the val part is empty" and "the test part is empty"', () => {
    const r = runCli(['data', 'split', data, '--seed', '7', '--out', p('split.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('train 16, val 0, test 0');
    expect(r.stderr).toContain('warning: ');
    expect(r.stderr).toContain('the val part is empty: too few images per class for a val fraction of 0.1');
    expect(r.stderr).toContain('the test part is empty');
  });

  it('data stats on a UNK row whose image exists → "1 row labelled UNK skipped" only, not also "has no row"', async () => {
    const unk = await copyData('unk');
    const csv = (await fs.readFile(join(unk, 'labels.csv'), 'utf8')).replace(
      `${ids[0]},${oneHot(ids[0]!.split('_')[1]!)}`,
      `${ids[0]},${oneHot('UNK')}`,
    );
    await fs.writeFile(join(unk, 'labels.csv'), csv);
    const r = runCli(['data', 'stats', unk, '--no-decode']);
    expect(r.stderr).toContain('1 row labelled UNK skipped');
    expect(r.stderr).not.toContain('has no row');
  });

  it('metrics classify with predictions for 3 of 16 images → exit 2 "cover 3 of the 16 images"; --allow-partial scores them with a warning', async () => {
    const lines = ids.slice(0, 3).map((id) => {
      const cls = id.split('_')[1]!;
      return `${id},${CLASSES.map((c) => (c === cls ? '0.9' : (0.1 / 7).toFixed(4))).join(',')}`;
    });
    const pred = p('pred.csv');
    await fs.writeFile(pred, `image,${CLASSES.join(',')}\n${lines.join('\n')}\n`);
    const r = runCli(['metrics', 'classify', '--pred', pred, '--data', data, '--bootstrap', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${pred}: the predictions cover 3 of the 16 images of ${data} (13 without a prediction, e.g. ${ids[3]}`,
    );
    const partial = runCli([
      'metrics',
      'classify',
      '--pred',
      pred,
      '--data',
      data,
      '--bootstrap',
      '0',
      '--allow-partial',
      '--json',
    ]);
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stderr).toContain('scoring those 3 only (--allow-partial)');
    expect(JSON.parse(partial.stdout).accuracy).toBe(1);
  });

  it('acgan train --out NON-EMPTY-NOT-A-RUN → exit 2 before loading --data (even a missing one); nothing written there', async () => {
    const mine = p('mine');
    await fs.mkdir(mine);
    await fs.writeFile(join(mine, 'notes.txt'), 'my notes');
    const r = runCli(['acgan', 'train', '--data', p('no-such-data'), '--preset', 'test', '--out', mine]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `${mine}: --out is a non-empty folder that is not a training run (it holds notes.txt)`,
    );
    expect(await fs.readdir(mine)).toEqual(['notes.txt']);
  });

  it('cyclegan train --a NV --b NV → exit 2 "--a and --b are the same images"', () => {
    const r = runCli([
      'cyclegan',
      'train',
      '--a',
      'NV',
      '--b',
      'NV',
      '--data',
      data,
      '--preset',
      'test',
      '--out',
      p('cg'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--a and --b are the same images (NV)');
    expect(existsSync(p('cg'))).toBe(false);
  });

  it('acgan train on a dataset with 0 images → "no training images", not "lower --batch-size"', async () => {
    const empty = p('empty');
    await fs.mkdir(join(empty, 'images'), { recursive: true });
    await fs.writeFile(join(empty, 'labels.csv'), `${HEADER}\n`);
    const r = runCli(['acgan', 'train', '--data', empty, '--preset', 'test', '--out', p('a0')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no training images in ${empty}`);
    expect(r.stderr).not.toContain('--batch-size');
  });

  it('acgan train with an undecodable and a transparent image (no --strict) → sharp\'s reason, one transparency warning, "trained on 15 of 16 images"; resume without checkpoint says "starting again from step 0"; sample --out EXISTING does not suggest --resume', async () => {
    const odd = await copyData('odd');
    await fs.writeFile(join(odd, 'images', `${ids[0]}.png`), 'not an image');
    // sharp comes with @skingan/data (the CLI itself does not import it).
    const sharp = createRequire(fileURLToPath(import.meta.resolve('@skingan/data')))('sharp') as (
      input: Buffer,
      options: { raw: { width: number; height: number; channels: 4 } },
    ) => { png(): { toFile(path: string): Promise<unknown> } };
    const rgba = Buffer.alloc(32 * 32 * 4, 180);
    for (let i = 0; i < 100; i++) rgba[4 * i + 3] = 0;
    await sharp(rgba, { raw: { width: 32, height: 32, channels: 4 } })
      .png()
      .toFile(join(odd, 'images', `${ids[5]}.png`));
    const out = p('acgan-odd');
    const args = [
      'acgan',
      'train',
      '--data',
      odd,
      '--preset',
      'test',
      '--batch-size',
      '4',
      '--epochs',
      '1',
      '--out',
      out,
    ];
    const r = runCli(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `${ids[0]}.png: cannot decode image: Input buffer contains unsupported image format (skipped)`,
    );
    expect(r.stderr).not.toContain('Unknown error');
    expect(r.stderr.match(/have transparent pixels/g)).toHaveLength(1);
    expect(r.stderr).toContain('1 of 16 images have transparent pixels');
    expect(r.stderr).toContain('acgan: trained on 15 of 16 images: 1 could not be decoded and were skipped');

    // A run killed before its first checkpoint: config.json, no checkpoint.
    const killed = p('acgan-killed');
    await fs.mkdir(killed);
    await fs.copyFile(join(out, 'config.json'), join(killed, 'config.json'));
    const resumed = runCli([...args.slice(0, -1), killed, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(
      `acgan: --resume: ${killed} has no checkpoint yet (the run stopped before its first one): starting again from step 0`,
    );

    // sample has no --resume: its own earlier output is replaced whole, anything else needs --force.
    const sampled = p('sampled');
    expect(runCli(['acgan', 'sample', '--model', out, '--per-class', '1', '--out', sampled]).code).toBe(0);
    const again = runCli(['acgan', 'sample', '--model', out, '--per-class', '1', '--out', sampled]);
    expect(again.code, again.stderr).toBe(0);
    const other = p('not-a-sample');
    await fs.mkdir(other);
    await fs.writeFile(join(other, 'notes.txt'), 'mine');
    const refused = runCli(['acgan', 'sample', '--model', out, '--per-class', '1', '--out', other]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `${other}: already exists and was not written by \`skingan acgan sample\``,
    );
    expect(refused.stderr).toContain('hint: choose another output, or pass --force to overwrite it');
    expect(refused.stderr).not.toContain('--resume');
    expect(await fs.readFile(join(other, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('SKINGAN_BACKEND=bogus → exit 2 naming SKINGAN_BACKEND, not --backend', () => {
    const r = runCli(['doctor'], { SKINGAN_BACKEND: 'bogus' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SKINGAN_BACKEND: unknown backend "bogus"');
    expect(r.stderr).not.toContain('--backend');
    expect(runCli(['doctor', '--backend', 'tpu']).stderr).toContain('--backend: unknown backend "tpu"');
  });

  it.runIf(canTestPermissions)(
    'data split --out into a folder the user may not write → "permission denied: cannot open DIR/s.json" with a hint, no raw EACCES',
    async () => {
      const locked = p('locked');
      await fs.mkdir(locked, { mode: 0o555 });
      await fs.chmod(locked, 0o555);
      const cmd = [BIN, 'data', 'split', data, '--seed', '7', '--out', join(locked, 's.json')];
      const r = asRoot
        ? spawnSync(
            setpriv!,
            ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, ...cmd],
            { encoding: 'utf8', env: { ...process.env, CI: '1' } },
          )
        : spawnSync(process.execPath, cmd, { encoding: 'utf8', env: { ...process.env, CI: '1' } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`skingan: permission denied: cannot open ${join(locked, 's.json')}\n`);
      expect(r.stderr).toContain(`hint: this user may not`);
      expect(r.stderr).toContain(`those of ${locked} (ls -ld)`);
      expect(r.stderr).not.toMatch(/^skingan: EACCES/m);
    },
  );
});
