import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveRedis, NO_REDIS, startRedis, type TestRedis } from '../../test-utils/redis.js';
import { BIN, runCli } from '../../test-utils/run-cli.js';

// The smallest noise2img experiment (24 jobs: 2 demo classes, one N, one seed, the `test` preset)
// run twice: on the queue with two workers, one killed with -9 mid-training, and locally.
const TRAINING = /^start {3}((?:acgan|cyclegan\/\w+|classifier\/.+))$/gm;

if (!haveRedis) console.warn(NO_REDIS);

describe.skipIf(!haveRedis)('skingan experiment --queue with two workers, one killed', () => {
  let redis: TestRedis;
  let dir: string;
  const children: ChildProcess[] = [];
  const spawnCli = (args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: '1', SKINGAN_THREADS: '1' },
    });
    children.push(child);
    const out = {
      stderr: '',
      stdout: '',
      exited: new Promise<number>((r) => child.on('close', (c) => r(c ?? -1))),
    };
    child.stderr!.on('data', (d: Buffer) => {
      out.stderr += d.toString();
    });
    child.stdout!.on('data', (d: Buffer) => {
      out.stdout += d.toString();
    });
    return { child, out };
  };

  beforeAll(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-queue-e2e-'));
    redis = await startRedis();
    expect(
      runCli(['data', 'demo-set', '--out', join(dir, 'demo'), '--per-class', '8', '--size', '32']).code,
    ).toBe(0);
    expect(
      runCli(['data', 'subset', join(dir, 'demo'), '--classes', 'MEL,NV', '--out', join(dir, 'd2')]).code,
    ).toBe(0);
    await fs.writeFile(
      join(dir, 'tiny.json'),
      JSON.stringify({ n: [4], repeats: 1, acgan: { batchSize: 4 } }),
    );
  }, 120_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await redis?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('finishes with the same Table 6.2 JSON as a local --jobs 1 run, and runs no job to completion twice', async () => {
    const experiment = (out: string, extra: string[]) => [
      'experiment',
      'noise2img',
      '--data',
      join(dir, 'd2'),
      '--preset',
      'test',
      '--config',
      join(dir, 'tiny.json'),
      '--no-report',
      '--out',
      join(dir, out),
      ...extra,
    ];
    const submit = spawnCli(experiment('queued', ['--queue', redis.url]));
    // --lock 10: a dead worker's job moves on within ~20 s; a live worker's lock, renewed every 5 s
    // by an otherwise idle process, never lapses even on a busy machine.
    const worker = () => spawnCli(['worker', '--queue', redis.url, '--lock', '10']);
    const w1 = worker();
    const w2 = worker();

    // Kill a worker (only its process: its job's process must stop by itself) while it trains:
    // once the job's command line is in the job.log of its work folder (the worker logs `start`
    // before it claims that folder, and on a busy machine a kill can land in between).
    const commandLogged = async (id: string): Promise<boolean> => {
      const manifest = await fs
        .readFile(join(dir, 'queued', 'experiment.json'), 'utf8')
        .then((t) => JSON.parse(t) as { jobs: { id: string; out: string }[] })
        .catch(() => undefined);
      const out = manifest?.jobs.find((j) => j.id === id)?.out;
      if (!out) return false;
      const parts = (await fs.readdir(dirname(out)).catch(() => [] as string[])).filter((n) =>
        n.startsWith(`.${basename(out)}.part-`),
      );
      for (const p of parts) {
        const log = await fs.readFile(join(dirname(out), p, 'job.log'), 'utf8').catch(() => '');
        if (/^\$ skingan /m.test(log)) return true;
      }
      return false;
    };
    let killed: { id: string; log: string } | undefined;
    for (let i = 0; i < 1200 && !killed; i++) {
      await new Promise((r) => setTimeout(r, 250));
      for (const w of [w1, w2]) {
        const id = [...w.out.stderr.matchAll(TRAINING)]
          .map((m) => m[1]!)
          .find((t) => !w.out.stderr.includes(`done    ${t}`));
        if (id && (await commandLogged(id))) {
          w.child.kill('SIGKILL');
          killed = { id, log: w.out.stderr };
          break;
        }
      }
    }
    expect(killed, 'no worker was seen training').toBeDefined();
    // Ctrl-C on the submitter: the workers go on; the same command with --resume re-attaches.
    submit.child.kill('SIGINT');
    expect(await submit.out.exited).toBe(130);
    expect(submit.out.stderr).toContain('stopped waiting: the workers go on with the queued jobs');
    // It stopped by returning, not by exiting on the spot: its lock on the folder is released.
    expect(existsSync(join(dir, 'queued', '.skingan.lock'))).toBe(false);
    const again = spawnCli(experiment('queued', ['--queue', redis.url, '--resume']));
    expect(await again.out.exited, again.out.stderr).toBe(0);
    const survivor = w1.child.killed ? w2 : w1;
    // Killed while training: the survivor runs it. (Killed in the few milliseconds between the job's
    // output being renamed into place and BullMQ being told, it would find the output and reuse it.)
    const handedOver = survivor.out.stderr.includes(`done    ${killed!.id}`);
    console.info(`killed a worker training ${killed!.id}; ${handedOver ? 'resumed' : 'reused'} by the other`);
    expect(handedOver || survivor.out.stderr.includes(`reused  ${killed!.id}`)).toBe(true);

    // Every job completed exactly once across both workers (the killed one's log up to its death).
    const completions = `${killed!.log}\n${survivor.out.stderr}`.match(/^(?:done|reused) {1,4}\S+/gm) ?? [];
    const ids = completions.map((l) => l.split(/\s+/)[1]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(24);
    expect(completions.filter((l) => l.startsWith('reused')).length).toBe(handedOver ? 0 : 1);
    const manifest = JSON.parse(await fs.readFile(join(dir, 'queued', 'experiment.json'), 'utf8'));
    const out = manifest.jobs.find((j: { id: string }) => j.id === killed!.id).out;
    if (handedOver) {
      // The survivor took the killed job's work folder over and resumed it.
      const jobLog = await fs.readFile(join(out, 'job.log'), 'utf8');
      expect(jobLog.match(/^\$ skingan /gm)).toHaveLength(2);
      expect(jobLog).toMatch(/^\$ skingan .* --resume$/m);
    }
    expect((await fs.readdir(join(out, '..'))).filter((n) => n.includes('.part-'))).toEqual([]);
    // Where each job ran is in experiment.json, not in the tables.
    expect(Object.values(manifest.results).every((r) => (r as { host?: string }).host)).toBe(true);

    const local = runCli(experiment('local', ['--jobs', '1']), { SKINGAN_THREADS: '1' });
    expect(local.code, local.stderr).toBe(0);
    for (const table of ['table-6.2', 'paired-vs-isic-0', 'gan-metrics']) {
      const [q, l] = await Promise.all(
        ['queued', 'local'].map((d) => fs.readFile(join(dir, d, 'tables', `${table}.json`), 'utf8')),
      );
      expect(q, table).toBe(l);
    }
    const status = runCli(['experiment', 'status', join(dir, 'queued'), '--queue', redis.url]);
    expect(status.stdout).toMatch(/queued: 24 done, 0 running, 0 waiting, 0 failed \(of 24\)\n$/);
    const fromFolder = JSON.parse(runCli(['experiment', 'status', join(dir, 'local'), '--json']).stdout);
    expect(fromFolder.jobs.map((j: { state: string }) => j.state)).toEqual(Array(24).fill('done'));
    survivor.child.kill('SIGTERM');
    expect(await survivor.out.exited).toBe(0);
  }, 1_200_000);
});
