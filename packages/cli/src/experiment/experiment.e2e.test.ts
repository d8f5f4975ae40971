import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveChromium, launchChromium } from '../test-utils/chromium.js';
import { expectNoise2imgTables, readTable } from '../test-utils/experiment-tables.js';
import { BIN, runCli } from '../test-utils/run-cli.js';
import { testImages } from '../test-utils/shared-data.js';

// End to end on isic-mini (or the demo set of its shape where the real data is absent): a 3-class
// subset keeps the job graph small (about 30 jobs of the `test` preset), so the whole file runs in a
// few minutes on 2 cores.
const { dir: MINI, name } = testImages();

let dir: string;
let data: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-e2e-'));
  data = join(dir, 'mini3');
  expect(runCli(['data', 'subset', MINI, '--classes', 'MEL,NV,BCC', '--out', data]).code).toBe(0);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe(`skingan experiment (${name}, 3 classes, test preset)`, () => {
  const full = () => join(dir, 'full');

  it('noise2img writes Table 6.2 with every row and column of the grid, FID/KID and a report', async () => {
    const r = runCli([
      'experiment',
      'noise2img',
      '--data',
      data,
      '--preset',
      'test',
      '--jobs',
      '2',
      '--out',
      full(),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/report: .*report\.html/);
    await expectNoise2imgTables(full(), ['MEL', 'NV', 'BCC']);
    expect(await fs.readFile(join(full(), 'tables', 'gan-metrics.md'), 'utf8')).toMatch(/test-random-conv/);
    // No heads' store here: each FID job keeps one vector per image it measured (real test +
    // that generator's images) in its folder, and the KID job of that generator reads them there
    // (its flags and its dependency on the FID job: the plan tests) without extracting any again.
    const planned: { jobs: { id: string; out: string }[] } = JSON.parse(
      await fs.readFile(join(full(), 'experiment.json'), 'utf8'),
    );
    for (const kind of ['acgan', 'cyclegan']) {
      const out = planned.jobs.find((j) => j.id === `fid/${kind}`)!.out;
      const { nReal, nFake } = JSON.parse(await fs.readFile(join(out, 'fid.json'), 'utf8'));
      const stored = (await fs.readFile(join(out, 'features', 'index.jsonl'), 'utf8')).trim().split('\n');
      expect(stored).toHaveLength(nReal + nFake);
      const kidOut = planned.jobs.find((j) => j.id === `kid/${kind}`)!.out;
      const { features } = JSON.parse(await fs.readFile(join(kidOut, 'kid.json'), 'utf8'));
      expect(features).toEqual({ extracted: 0, reused: stored.length });
    }
  }, 900_000);

  it.skipIf(!haveChromium)(
    'report.html opens from disk in a browser with its tables and every image loaded',
    async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        const requests: string[] = [];
        page.on('request', (req) => requests.push(req.url()));
        await page.goto(pathToFileURL(join(full(), 'report.html')).href, { waitUntil: 'load' });
        const captions = await page.locator('table caption').allTextContents();
        expect(captions.some((c) => c.includes('Table 6.2'))).toBe(true);
        expect(captions.some((c) => c.includes('Paired comparison'))).toBe(true);
        expect(await page.locator('table tbody tr').count()).toBeGreaterThan(5);
        // Evaluated in the page: `complete` and `naturalWidth` are HTMLImageElement properties.
        const images = await page.locator('img').evaluateAll((els) =>
          els.map((e) => ({
            ok: Boolean(
              (e as unknown as { complete: boolean; naturalWidth: number }).complete &&
                (e as unknown as { naturalWidth: number }).naturalWidth > 0,
            ),
          })),
        );
        expect(images.length).toBe(3); // one sheet per class: real | ACGAN | CycleGAN
        expect(images.every((i) => i.ok)).toBe(true);
        expect(await page.locator('svg').count()).toBeGreaterThan(0);
        expect(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:'))).toEqual([]);
      } finally {
        await browser.close();
      }
    },
  );

  it('killed in the middle and rerun with --resume: reuses finished jobs and ends with the same tables', async () => {
    const out = join(dir, 'resumed');
    const args = [
      BIN,
      'experiment',
      'noise2img',
      '--data',
      data,
      '--preset',
      'test',
      '--jobs',
      '2',
      '--out',
      out,
    ];
    // Kill the whole process group (the experiment and its workers) once a few jobs are done.
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '1' },
    });
    let err = '';
    await new Promise<void>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if ((err.match(/ {2}done {4}/g) ?? []).length >= 8 && child.pid) {
          process.kill(-child.pid, 'SIGKILL');
        }
      });
      child.on('close', () => resolve());
    });
    expect(existsSync(join(out, 'tables'))).toBe(false);
    const again = runCli(args.slice(1).concat('--resume'));
    expect(again.code, again.stderr).toBe(0);
    const reused = (again.stderr.match(/ {2}reused /g) ?? []).length;
    expect(reused).toBeGreaterThanOrEqual(8);
    expect(await readTable(out, 'table-6.2')).toEqual(await readTable(full(), 'table-6.2'));
    // A finished experiment reruns without running anything.
    const third = runCli(args.slice(1).concat('--resume'));
    expect(third.stderr).toMatch(/0 jobs run, \d+ reused, 0 failed/);
  }, 900_000);

  it('a full disk from a random write on: fails naming the file and disk full, and --resume ends with the same tables', async () => {
    // SKINGAN_TEST_FAULT reaches every job's process: each fails from its N-th durable write on
    // (core's io/fault.ts), as when the disk fills up. SKINGAN_CRASH_SEED replays the draw.
    // Fixed by default (reproducible CI); SKINGAN_CRASH_SEED=random draws a new one.
    const env = process.env.SKINGAN_CRASH_SEED ?? '674860344';
    const seed = env === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(env);
    const n = 1 + (seed % 24);
    console.info(`experiment: disk full from write ${n} of each process (SKINGAN_CRASH_SEED=${seed})`);
    const out = join(dir, 'disk-full');
    const args = ['experiment', 'noise2img', '--data', data, '--preset', 'test', '--jobs', '2', '--out', out];
    const failed = runCli(args, { SKINGAN_TEST_FAULT: `enospc@${n}` });
    expect(failed.code, failed.stderr).toBe(1);
    const logs = await Promise.all(
      (await fs.readdir(join(out, 'jobs')).catch(() => [] as string[])).map((j) =>
        fs.readFile(join(out, 'jobs', j, 'job.log'), 'utf8').catch(() => ''),
      ),
    );
    expect(`${failed.stderr}\n${logs.join('\n')}`).toMatch(
      /skingan: \/\S+: disk full \(ENOSPC\) while writing this/,
    );
    const again = runCli(args.concat('--resume'));
    expect(again.code, again.stderr).toBe(0);
    expect(await readTable(out, 'table-6.2')).toEqual(await readTable(full(), 'table-6.2'));
  }, 900_000);

  it('nv2mel writes Table 7.2 with a row per N and a column group per α', async () => {
    const out = join(dir, 'nv2mel');
    const r = runCli([
      'experiment',
      'nv2mel',
      '--data',
      data,
      '--preset',
      'test',
      '--jobs',
      '2',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const t = await readTable(out, 'table-7.2');
    expect(t.rows.map((row: { label: string }) => row.label)).toEqual(['0', '8', '16']);
    const text = JSON.stringify(t);
    for (const a of ['1/4', '1']) expect(text).toContain(`α=${a}`);
  }, 900_000);
});
