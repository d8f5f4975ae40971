import { existsSync, promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { haveRedis, NO_REDIS, startRedis, type TestRedis } from '../../test-utils/redis.js';
import { runCli } from '../../test-utils/run-cli.js';
import { type Job, planJobs } from '../job.js';
import type { ExperimentManifest } from '../manifest.js';
import { parseQueueUrl, probeRedis } from './connection.js';
import { queueStatus } from './status.js';
import { runJobsOnQueue } from './submit.js';
import { startWorker } from './worker.js';

// A stand-in for the skingan binary that logs every run to runs.log (one line per completed run).
const FAKE_BIN = `
const fs = require('node:fs');
const path = require('node:path');
const [cmd, ...a] = process.argv.slice(2);
const out = path.basename(cmd === 'cat' ? a.at(-1) : a[0]);
const record = (what) => fs.appendFileSync(path.join(__dirname, 'runs.log'), what + ' ' + out + '\\n');
if (cmd === 'fail' && !fs.existsSync(path.join(__dirname, 'fixed'))) {
  record('failed');
  console.error('boom: bad input');
  process.exit(1);
}
if (cmd === 'write' || cmd === 'fail') fs.writeFileSync(a[0], a[1] ?? 'fixed');
if (cmd === 'cat') fs.writeFileSync(a.at(-1), a.slice(0, -1).map((f) => fs.readFileSync(f, 'utf8')).join('|') + '+');
record(cmd);
`;

if (!haveRedis) console.warn(NO_REDIS);

describe.skipIf(!haveRedis)('BullMQ queue (redis-server on a loopback port)', () => {
  let redis: TestRedis;
  let dir: string;
  let bin: string;
  let workers: { close: () => Promise<void> }[] = [];
  const exp = () => join(dir, 'exp');
  const runs = async () =>
    existsSync(join(dir, 'runs.log'))
      ? (await fs.readFile(join(dir, 'runs.log'), 'utf8')).trim().split('\n')
      : [];
  const start = async (n: number) => {
    for (let i = 0; i < n; i++) {
      workers.push(
        await startWorker({ url: redis.url, concurrency: 1, bin, gatePollMs: 100, log: () => {} }),
      );
    }
  };
  const manifest = async (jobs: ReturnType<typeof planJobs>) => {
    const m = { jobs: jobs.map((j) => ({ id: j.id, stage: j.stage, key: j.key, out: j.out })) };
    await fs.mkdir(exp(), { recursive: true });
    await fs.writeFile(join(exp(), 'experiment.json'), JSON.stringify(m));
    return m as unknown as ExperimentManifest;
  };

  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
  });
  beforeEach(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-queue-'));
    bin = join(dir, 'fake-bin.cjs');
    await fs.writeFile(bin, FAKE_BIN);
  });
  afterEach(async () => {
    for (const w of workers) await w.close();
    workers = [];
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs a diamond graph on two workers once per job, in order; a resubmit re-attaches and runs nothing', async () => {
    const jobs: Job[] = [
      { id: 'a', stage: 's', args: ['write', '{out}/a.txt', 'A'], deps: [] },
      { id: 'b', stage: 's', args: ['cat', '{job:a}/a.txt', '{out}/b.txt'], deps: ['a'] },
      { id: 'c', stage: 's', args: ['cat', '{job:a}/a.txt', '{out}/c.txt'], deps: ['a'] },
      {
        id: 'd',
        stage: 's',
        args: ['cat', '{job:b}/b.txt', '{job:c}/c.txt', '{out}/d.txt'],
        deps: ['b', 'c'],
      },
    ];
    const planned = planJobs(jobs, exp());
    await manifest(planned);
    await start(2);
    const first = await runJobsOnQueue(planned, {
      url: redis.url,
      experiment: exp(),
      backend: null,
      pollMs: 100,
    });
    expect(
      first.map((r) => r.status),
      JSON.stringify(first),
    ).toEqual(['done', 'done', 'done', 'done']);
    expect(first.every((r) => r.host === hostname() && r.backend === 'auto')).toBe(true);
    expect(await fs.readFile(join(planned[3]!.out, 'd.txt'), 'utf8')).toBe('A+|A++');
    const once = await runs();
    expect(once[0]).toBe('write a.txt');
    expect(once.slice(1, 3).sort()).toEqual(['cat b.txt', 'cat c.txt']);
    expect(once[3]).toBe('cat d.txt');

    const again = await runJobsOnQueue(planned, {
      url: redis.url,
      experiment: exp(),
      backend: null,
      pollMs: 100,
    });
    expect(again.map((r) => r.status)).toEqual(['reused', 'reused', 'reused', 'reused']);
    expect(await runs()).toEqual(once);
    const status = await queueStatus(redis.url, exp(), await manifest(planned));
    expect(status.map((s) => s.state)).toEqual(['done', 'done', 'done', 'done']);
  }, 120_000);

  it('a job that fails fails once, with its log; what needs it is skipped; status says so; a rerun after the fix runs it', async () => {
    const jobs: Job[] = [
      { id: 'bad', stage: 's', args: ['fail', '{out}/x'], deps: [] },
      { id: 'after', stage: 's', args: ['cat', '{job:bad}/x', '{out}/y'], deps: ['bad'] },
      { id: 'also', stage: 's', args: ['cat', '{job:bad}/x', '{out}/z'], deps: ['bad'] },
      { id: 'other', stage: 's', args: ['write', '{out}/w', 'W'], deps: [] },
    ];
    const planned = planJobs(jobs, exp());
    const m = await manifest(planned);
    await start(1);
    const r = await runJobsOnQueue(planned, {
      url: redis.url,
      experiment: exp(),
      backend: null,
      pollMs: 100,
    });
    expect(r.map((x) => x.status)).toEqual(['failed', 'skipped', 'skipped', 'done']);
    expect(r[0]!.error).toMatch(/exit 1: .*boom: bad input \(log: .*job\.log\)$/);
    expect(await fs.readFile(r[0]!.log, 'utf8')).toMatch(/boom: bad input/);
    expect(r[1]!.error).toBe('needs bad');
    expect(r[2]!.error).toBe('needs bad');
    expect((await runs()).sort()).toEqual(['failed x', 'write w']);

    const status = await queueStatus(redis.url, exp(), m);
    expect(status.map((s) => s.state)).toEqual(['failed', 'failed', 'failed', 'done']);
    expect(status[0]!.log).toBe(r[0]!.log);
    expect(status[1]!.error).toBe('needs bad');

    await fs.writeFile(join(dir, 'fixed'), '');
    const rerun = await runJobsOnQueue(planned, {
      url: redis.url,
      experiment: exp(),
      backend: null,
      pollMs: 100,
    });
    expect(
      rerun.map((x) => x.status),
      JSON.stringify(rerun),
    ).toEqual(['done', 'done', 'done', 'reused']);
    expect((await runs()).sort()).toEqual(['cat y', 'cat z', 'fail x', 'failed x', 'write w']);
  }, 120_000);

  it('a worker that cannot see the experiment folder refuses the job and says why', async () => {
    const planned = planJobs([{ id: 'a', stage: 's', args: ['write', '{out}/a', 'A'], deps: [] }], exp());
    await start(1);
    const [r] = await runJobsOnQueue(planned, {
      url: redis.url,
      experiment: exp(),
      backend: null,
      pollMs: 100,
    });
    expect(r!.status).toBe('failed');
    expect(r!.error).toBe(
      `worker ${hostname()}:${process.pid} cannot see the experiment folder ${exp()}: workers need it on a shared filesystem at the same path`,
    );
    expect(await runs()).toEqual([]);
  }, 60_000);

  it('a password in the URL is used, and a wrong one is a clear error', async () => {
    const locked = await startRedis('s3cret');
    try {
      await probeRedis(parseQueueUrl(locked.url));
      await expect(probeRedis(parseQueueUrl(locked.url.replace('s3cret', 'wrong')))).rejects.toThrow(
        /^Redis at redis:\/\/127\.0\.0\.1:\d+\/0 refused: WRONGPASS/,
      );
    } finally {
      await locked.stop();
    }
  }, 60_000);
});

describe('queue URLs', () => {
  it('parses host, port, database and password, and rejects what is not redis://', () => {
    expect(parseQueueUrl('redis://:pw%40x@10.0.0.5:6380/3')).toEqual({
      host: '10.0.0.5',
      port: 6380,
      db: 3,
      password: 'pw@x',
      display: 'redis://10.0.0.5:6380/3',
    });
    expect(parseQueueUrl('redis://127.0.0.1').port).toBe(6379);
    expect(() => parseQueueUrl('http://127.0.0.1:6379')).toThrow(
      '--queue must be a redis:// URL, not http://',
    );
    expect(() => parseQueueUrl('127.0.0.1:6379')).toThrow('--queue 127.0.0.1:6379 is not a URL');
    expect(() => parseQueueUrl('redis://h/x')).toThrow('--queue: the database "x" is not a number');
  });

  it('the CLI says what is wrong with a queue flag before doing anything', () => {
    const bad = runCli([
      'experiment',
      'noise2img',
      '--data',
      '/nonexistent',
      '--out',
      '/nonexistent/x',
      '--queue',
      'http://h:1',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('skingan: --queue must be a redis:// URL, not http://');
    const lock = runCli(['worker', '--queue', 'redis://127.0.0.1:1/0', '--lock', '0']);
    expect(lock.code).toBe(2);
    expect(lock.stderr).toContain('--lock must be at least 1, got "0"');
    const gone = runCli(['worker', '--queue', 'redis://127.0.0.1:1/0']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(
      /^skingan: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0: connect ECONNREFUSED/,
    );
  });

  it('an unreachable Redis is an error at once, not endless reconnects', async () => {
    await expect(probeRedis(parseQueueUrl('redis://127.0.0.1:1/0'), 2000)).rejects.toThrow(
      /^cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/0: connect ECONNREFUSED/,
    );
  });
});
