import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, promises as fs, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../test-utils/run-cli.js';
import {
  ISIC_FULLRES as FULLRES,
  HAVE_ISIC_FULLRES as haveFullres,
  NO_PHOTOGRAPHS,
  pngSize,
  readJsonl,
  testImages,
} from '../test-utils/shared-data.js';

const { dir: MINI, name: MINI_NAME } = testImages();

/** A minimal zip (stored entries), enough for the downloader's extraction. */
function storedZip(entries: { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** Runs the CLI without blocking this process (so a server here can answer it). */
function runAsync(args: string[], onStderr?: (text: string, child: ChildProcess) => void) {
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, CI: '1' } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
        onStderr?.(stderr, child);
      });
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
}

describe('skingan data', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-cli-data-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  it(`stats --json: ${MINI_NAME} has 480 images, 60 per class, no problems`, () => {
    const r = runCli(['data', 'stats', MINI, '--json']);
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats).toMatchObject({
      total: 480,
      perClass: { MEL: 60, NV: 60, BCC: 60, AK: 60, BKL: 60, DF: 60, VASC: 60, SCC: 60 },
      problems: [],
    });
  });

  it('split --seed 7 twice gives identical files, 48/6/6 per class, disjoint', async () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    expect(runCli(['data', 'split', MINI, '--seed', '7', '--out', a]).code).toBe(0);
    expect(runCli(['data', 'split', MINI, '--seed', '7', '--out', b]).code).toBe(0);
    const text = await fs.readFile(a, 'utf8');
    expect(await fs.readFile(b, 'utf8')).toBe(text);
    const split = JSON.parse(text);
    expect(split).toMatchObject({ seed: 7, fractions: { train: 0.8, val: 0.1, test: 0.1 } });
    const labels = (await fs.readFile(join(MINI, 'labels.csv'), 'utf8')).trim().split('\n').slice(1);
    const classOf = new Map(labels.map((l) => [l.split(',')[0]!, l.split(',').slice(1).indexOf('1.0')]));
    for (let c = 0; c < 8; c++) {
      const n = (part: string) => split.ids[part].filter((id: string) => classOf.get(id) === c).length;
      expect([n('train'), n('val'), n('test')]).toEqual([48, 6, 6]);
    }
    const all = [...split.ids.train, ...split.ids.val, ...split.ids.test];
    expect(new Set(all).size).toBe(480);
  });

  it('subset: the test part of a split, then the first 2 MEL of it, as dataset folders', async () => {
    const split = join(dir, 'sub-split.json');
    expect(runCli(['data', 'split', MINI, '--seed', '7', '--out', split]).code).toBe(0);
    const test = join(dir, 'test-part');
    const r = runCli(['data', 'subset', MINI, '--split', split, '--part', 'test', '--out', test, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 48, perClass: { MEL: 6, NV: 6, SCC: 6 } });
    const testIds = JSON.parse(await fs.readFile(split, 'utf8')).ids.test as string[];
    const stats = JSON.parse(runCli(['data', 'stats', test, '--json']).stdout);
    expect(stats.total).toBe(48);
    const mel = join(dir, 'mel-2');
    expect(runCli(['data', 'subset', test, '--classes', 'MEL', '--per-class', '2', '--out', mel]).code).toBe(
      0,
    );
    const ids = (await fs.readFile(join(mel, 'labels.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]!);
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(testIds).toContain(id);
    const bad = runCli(['data', 'subset', MINI, '--part', 'test', '--out', join(dir, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/a split and a part go together/);
  });

  it('augment: 2 views of the train part of 2 images a class, at 32², as a dataset folder; bad input refused', async () => {
    const small = join(dir, 'aug-src');
    expect(
      runCli(['data', 'subset', MINI, '--classes', 'MEL,NV,DF', '--per-class', '2', '--out', small]).code,
    ).toBe(0);
    const split = join(dir, 'aug-split.json');
    const splitArgs = ['data', 'split', small, '--seed', '1', '--fractions', '0.5,0,0.5', '--out', split];
    expect(runCli(splitArgs).code).toBe(0);
    const train = JSON.parse(await fs.readFile(split, 'utf8')).ids.train as string[];
    expect(train).toHaveLength(3);
    const out = join(dir, 'aug-views');
    const args = [
      'data',
      'augment',
      small,
      '--split',
      split,
      '--part',
      'train',
      '--views',
      '2',
      '--size',
      '32',
    ];
    const r = runCli([...args, '--seed', '4', '--out', out, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      dir: out,
      sources: 3,
      total: 6,
      perClass: { MEL: 2, NV: 2, DF: 2 },
      views: 2,
      seed: 4,
      size: 32,
    });
    const ids = (await fs.readFile(join(out, 'labels.csv'), 'utf8'))
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]!);
    expect(ids).toEqual(train.flatMap((id) => [`${id}_v0`, `${id}_v1`]));
    expect(await pngSize(join(out, 'images', `${train[0]}_v1.png`))).toEqual([32, 32]);
    const prov = await readJsonl(join(out, 'provenance.jsonl'));
    expect(prov[1]).toMatchObject({ id: `${train[0]}_v1`, source: train[0], view: 1, seed: 4, size: 32 });

    const missing = runCli(['data', 'augment', join(dir, 'nope'), '--views', '2', '--out', join(dir, 'x')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${join(dir, 'nope')}: no such dataset folder`);
    const zero = runCli(['data', 'augment', small, '--views', '0', '--out', join(dir, 'x')]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--views must be 1 or more, got 0');
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });

  it.skipIf(!haveFullres)(
    `prepare --size 256 of real photographs: killed mid-way, a rerun finishes without redoing finished images ${haveFullres ? '' : NO_PHOTOGRAPHS}`,
    async () => {
      const out = join(dir, 'P');
      const args = ['data', 'prepare', FULLRES, '--size', '256', '--out', out, '--concurrency', '1'];
      const killed = await runAsync(args, (err, child) => {
        if (/ (1[0-9]|[4-9])\/31 images/.test(err)) child.kill('SIGKILL');
      });
      expect(killed.signal).toBe('SIGKILL');
      const before = (await fs.readdir(join(out, 'images'))).filter((n) => n.endsWith('.png')).length;
      expect(before).toBeGreaterThan(0);
      expect(before).toBeLessThan(31);
      const r = runCli([...args, '--json']);
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout);
      expect(result).toMatchObject({
        total: 31,
        reused: before,
        written: 31 - before,
        failed: 0,
        problems: [],
      });
      const pngs = (await fs.readdir(join(out, 'images'))).filter((n) => n.endsWith('.png'));
      expect(pngs).toHaveLength(31);
      for (const name of pngs) expect(await pngSize(join(out, 'images', name))).toEqual([256, 256]);
      expect(await fs.readFile(join(out, 'labels.csv'), 'utf8')).toBe(
        await fs.readFile(join(FULLRES, 'labels.csv'), 'utf8'),
      );
    },
  );

  it('demo-set writes a synthetic dataset that stats reads', async () => {
    const out = join(dir, 'demo');
    const r = runCli(['data', 'demo-set', '--out', out, '--per-class', '2', '--size', '32', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ total: 16, synthetic: true });
    const stats = JSON.parse(runCli(['data', 'stats', out, '--json']).stdout);
    expect(stats.total).toBe(16);
    expect(stats.roots[0].synthetic).toBe(true);
    expect(await fs.readFile(join(out, 'README.md'), 'utf8')).toContain('SYNTHETIC');
  });

  it('reports bad input without a stack: exit 2 for usage, 1 with the file for data errors', async () => {
    const usage = runCli(['data', 'download', 'imagenet', '--out', join(dir, 'x')]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown dataset "imagenet"');
    const bad = join(dir, 'bad');
    await fs.mkdir(join(bad, 'images'), { recursive: true });
    await fs.writeFile(
      join(bad, 'labels.csv'),
      'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK\nx,1.0,1.0,0,0,0,0,0,0,0\n',
    );
    const r = runCli(['data', 'stats', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(bad, 'labels.csv')}:2: x: 2 classes are set (MEL, NV)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  describe('download isic2019 from a local server', () => {
    let server: Server;
    let base = '';
    const ranges: (string | undefined)[] = [];
    let cutOnce = true;
    let zip: Buffer;
    let out = '';
    beforeAll(async () => {
      zip = storedZip([
        { name: 'ISIC_2019_Training_Input/ISIC_0000001.jpg', data: Buffer.alloc(3000, 7) }, // never decoded here
        { name: 'ISIC_2019_Training_Input/LICENSE.txt', data: Buffer.alloc(20000, 1) },
      ]);
      const files: Record<string, Buffer> = {
        '/2019/ISIC_2019_Training_GroundTruth.csv': Buffer.from(
          'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK\nISIC_0000001,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0\n',
        ),
        '/2019/ISIC_2019_Training_Input.zip': zip,
      };
      server = createServer((req, res) => {
        const body = files[req.url ?? ''];
        if (!body) return void res.writeHead(404).end();
        const m = /bytes=(\d+)-/.exec(req.headers.range ?? '');
        const start = m ? Number(m[1]) : 0;
        if (req.url?.endsWith('.zip')) ranges.push(req.headers.range);
        res.writeHead(m ? 206 : 200, {
          'content-length': body.length - start,
          ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
        });
        if (req.url?.endsWith('.zip') && cutOnce) {
          // A dropped connection after 500 bytes, dropped only once the client has written them
          // (its .part file): a client still opening that file would lose them to the drop.
          cutOnce = false;
          res.write(body.subarray(0, 500));
          const part = join(out, 'ISIC_2019_Training_Input.zip.part');
          const poll = setInterval(() => {
            if (existsSync(part) && statSync(part).size >= 500) {
              clearInterval(poll);
              res.destroy();
            }
          }, 10);
          return;
        }
        res.end(body.subarray(start));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/2019/`;
    });
    afterAll(() => {
      server.closeAllConnections();
      server.close();
    });

    it('resumes a dropped transfer, extracts, and leaves a folder loadDataset reads', async () => {
      out = join(dir, 'isic');
      const r = await runAsync([
        'data',
        'download',
        'isic2019',
        '--out',
        out,
        '--base-url',
        base,
        '--retries',
        '2',
        '--json',
      ]);
      expect(r.code).toBe(0);
      expect(ranges).toEqual([undefined, 'bytes=500-']);
      expect(JSON.parse(r.stdout)).toMatchObject({ images: 1 });
      // The downloaded "images" here are stand-in bytes, not JPEGs: check the layout, not the pixels.
      const stats = JSON.parse(runCli(['data', 'stats', out, '--json', '--no-decode']).stdout);
      expect(stats).toMatchObject({ total: 1, perClass: { MEL: 1 }, problems: [] });
      expect(stats.roots[0].layout).toBe('isic2019');
    });
  });
});
