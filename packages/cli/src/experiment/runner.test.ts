import { existsSync, promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Job, planJobs } from './job.js';
import { folderStatus, isJobDone, type RunnerEvent, runJob, runJobs, threadsPerJob } from './runner.js';
import { claimWorkFolder, PARTIAL_STALE_MS } from './work-folder.js';

// A stand-in for the skingan binary: `write FILE TEXT [sleepMs]`, `fail`, `cat IN OUT`.
const FAKE_BIN = `
const fs = require('node:fs');
const [cmd, ...a] = process.argv.slice(2);
const resumed = a.includes('--resume');
if (cmd === 'fail') { console.error('boom: bad input'); process.exit(1); }
if (cmd === 'write') { setTimeout(() => { fs.writeFileSync(a[0], a[1] + (resumed ? ' (resumed)' : '')); }, Number(a[2] ?? 0)); }
if (cmd === 'cat') { fs.writeFileSync(a[1], fs.readFileSync(a[0], 'utf8') + '+'); }
if (cmd === 'env') { process.stdout.write(JSON.stringify({ threads: process.env.SKINGAN_THREADS ?? null })); }
if (cmd === 'fail-json') { process.stdout.write(JSON.stringify({ error: { message: 'no weights in /c', hint: 'fetch them' } }, null, 2)); process.exit(1); }
if (cmd === 'print') { process.stdout.write(JSON.stringify({ value: Number(a[0]) })); }
if (cmd === 'train') {
  // The handler first: the test sends SIGTERM as soon as it sees '.started'.
  const t = setTimeout(() => {}, 60000);
  process.on('SIGTERM', () => { clearTimeout(t); fs.writeFileSync(a[0], 'checkpoint'); process.exit(143); });
  fs.writeFileSync(a[0] + '.started', '');
}
if (cmd === 'crash-once') {
  // Writes half its output and dies (as under kill -9); resumed, it finishes what is there.
  if (!resumed) { fs.writeFileSync(a[0], 'half'); process.kill(process.pid, 'SIGKILL'); }
  fs.writeFileSync(a[0], fs.readFileSync(a[0], 'utf8') + ' + rest');
}
`;

let dir: string;
let bin: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-jobs-'));
  bin = join(dir, 'fake-bin.cjs');
  await fs.writeFile(bin, FAKE_BIN);
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const exp = () => join(dir, 'exp');

describe('threadsPerJob', () => {
  it('shares the cores among the jobs, at least one thread each', () => {
    expect([threadsPerJob(2, 1), threadsPerJob(2, 2), threadsPerJob(2, 3)]).toEqual([2, 1, 1]);
    expect([threadsPerJob(16, 3), threadsPerJob(16, 4), threadsPerJob(1, 0)]).toEqual([5, 4, 1]);
  });
});

describe('runJobs', () => {
  it('gives each job SKINGAN_THREADS = the threads asked for, over the inherited one', async () => {
    const jobs: Job[] = [
      { id: 'a', stage: 's', args: ['env'], deps: [], stdoutFile: 'env.json' },
      { id: 'b', stage: 's', args: ['env', 'b'], deps: [], stdoutFile: 'env.json' },
    ];
    const planned = planJobs(jobs, exp());
    const saved = process.env.SKINGAN_THREADS;
    process.env.SKINGAN_THREADS = '7';
    try {
      await runJobs(planned, { concurrency: 2, bin, threads: threadsPerJob(4, 2) });
    } finally {
      if (saved === undefined) delete process.env.SKINGAN_THREADS;
      else process.env.SKINGAN_THREADS = saved;
    }
    for (const j of planned)
      expect(JSON.parse(await fs.readFile(join(j.out, 'env.json'), 'utf8'))).toEqual({ threads: '2' });
  });

  it('runs jobs in dependency order, passes folders along, and reuses finished jobs', async () => {
    const jobs: Job[] = [
      { id: 'a', stage: 's', args: ['write', '{out}/a.txt', 'A'], deps: [] },
      { id: 'b', stage: 's', args: ['cat', '{job:a}/a.txt', '{out}/b.txt'], deps: ['a'] },
      { id: 'c', stage: 's', args: ['print', '3'], deps: [], stdoutFile: 'c.json' },
    ];
    const planned = planJobs(jobs, exp());
    const first = await runJobs(planned, { concurrency: 2, bin });
    expect(first.map((r) => r.status)).toEqual(['done', 'done', 'done']);
    expect(await fs.readFile(join(planned[1]!.out, 'b.txt'), 'utf8')).toBe('A+');
    expect(JSON.parse(await fs.readFile(join(planned[2]!.out, 'c.json'), 'utf8'))).toEqual({ value: 3 });

    const again = await runJobs(planJobs(jobs, exp()), { concurrency: 2, bin });
    expect(again.map((r) => r.status)).toEqual(['reused', 'reused', 'reused']);
  });

  it('recomputes only what a changed input affects', async () => {
    const make = (text: string): Job[] => [
      { id: 'a', stage: 's', args: ['write', '{out}/a.txt', text], deps: [] },
      { id: 'b', stage: 's', args: ['cat', '{job:a}/a.txt', '{out}/b.txt'], deps: ['a'] },
      { id: 'c', stage: 's', args: ['write', '{out}/c.txt', 'C'], deps: [] },
    ];
    await runJobs(planJobs(make('A'), exp()), { concurrency: 1, bin });
    const changed = await runJobs(planJobs(make('Z'), exp()), { concurrency: 1, bin });
    expect(changed.map((r) => r.status)).toEqual(['done', 'done', 'reused']);
  });

  it('reports a failure with its log, skips what needs it, and finishes the rest', async () => {
    const jobs: Job[] = [
      { id: 'bad', stage: 's', args: ['fail'], deps: [] },
      { id: 'after', stage: 's', args: ['write', '{out}/x', 'x'], deps: ['bad'] },
      { id: 'other', stage: 's', args: ['write', '{out}/y', 'y', '50'], deps: [] },
    ];
    const events: RunnerEvent[] = [];
    const r = await runJobs(planJobs(jobs, exp()), { concurrency: 2, bin, onEvent: (e) => events.push(e) });
    expect(r.map((x) => x.status)).toEqual(['failed', 'skipped', 'done']);
    expect(r[0]!.error).toMatch(/exit 1: .*boom: bad input/);
    expect(await fs.readFile(r[0]!.log, 'utf8')).toMatch(/boom: bad input/);
    expect(r[1]!.error).toBe('needs bad');
    expect(events.filter((e) => e.type === 'end')).toHaveLength(3);
  });

  it("a --json job's error (printed to stdout) is the failure's message and is in its log", async () => {
    const jobs: Job[] = [{ id: 'j', stage: 's', args: ['fail-json'], deps: [], stdoutFile: 'j.json' }];
    const [r] = await runJobs(planJobs(jobs, exp()), { concurrency: 1, bin });
    expect(r!.status).toBe('failed');
    expect(r!.error).toBe('exit 1: no weights in /c (fetch them)');
    expect(await fs.readFile(r!.log, 'utf8')).toContain('"message": "no weights in /c"');
  });

  it('resumes a partial folder when the command can, and never runs more than `concurrency` at once', async () => {
    const jobs: Job[] = [
      { id: 'train', stage: 's', args: ['write', '{out}/w.txt', 'W'], deps: [], resumeFlag: '--resume' },
    ];
    const planned = planJobs(jobs, exp());
    await fs.mkdir(planned[0]!.out, { recursive: true }); // as left by a killed run
    await runJobs(planned, { concurrency: 1, bin });
    expect(await fs.readFile(join(planned[0]!.out, 'w.txt'), 'utf8')).toBe('W (resumed)');

    const many: Job[] = Array.from({ length: 5 }, (_, i) => ({
      id: `j${i}`,
      stage: 's',
      args: ['write', '{out}/f', 'x', '100'],
      deps: [],
    }));
    let max = 0;
    await runJobs(planJobs(many, join(dir, 'exp2')), {
      concurrency: 2,
      bin,
      onEvent: (e) => {
        if (e.type === 'start') max = Math.max(max, e.running);
      },
    });
    expect(max).toBe(2);
  });

  it('SIGTERM to an experiment: running jobs get SIGTERM (they checkpoint), no other job starts, all are reported skipped', async () => {
    const jobs: Job[] = [
      { id: 'train', stage: 's', args: ['train', '{out}/ckpt'], deps: [], resumeFlag: '--resume' },
      { id: 'later', stage: 's', args: ['write', '{out}/x', 'X'], deps: [] },
      { id: 'after', stage: 's', args: ['cat', '{train}/ckpt', '{out}/y'], deps: ['train'] },
    ];
    const planned = planJobs(jobs, exp());
    const controller = new AbortController();
    const results = runJobs(planned, { concurrency: 1, bin, signal: controller.signal });
    // The job runs in a work folder of its own beside its output (renamed into place when done).
    const part = async () =>
      (await fs.readdir(dirname(planned[0]!.out)).catch(() => [] as string[]))
        .filter((n) => n.startsWith(`.${basename(planned[0]!.out)}.part-`))
        .map((n) => join(dirname(planned[0]!.out), n))[0];
    while (!(await fs.stat(join((await part()) ?? dir, 'ckpt.started')).catch(() => undefined)))
      await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    const r = await results;
    expect(r.map((x) => [x.id, x.status])).toEqual([
      ['train', 'skipped'],
      ['later', 'skipped'],
      ['after', 'skipped'],
    ]);
    expect(r[0]!.error).toBe('stopped (exit 143); --resume continues it');
    // Its checkpoint stays in the work folder, which --resume takes over; nothing is in place.
    expect(await fs.readFile(join((await part())!, 'ckpt'), 'utf8')).toBe('checkpoint');
    expect(await isJobDone(planned[0]!)).toBe(false);
    expect(await fs.stat(planned[1]!.out).catch(() => null)).toBeNull();
  }, 60_000);

  it('a job killed mid-write leaves no output the cache accepts; the rerun resumes its work folder', async () => {
    const jobs: Job[] = [
      { id: 'train', stage: 's', args: ['crash-once', '{out}/w.txt'], deps: [], resumeFlag: '--resume' },
    ];
    const planned = planJobs(jobs, exp());
    const job = planned[0]!;
    const [first] = await runJobs(planned, { concurrency: 1, bin });
    expect(first!.status).toBe('failed');
    expect(existsSync(job.out)).toBe(false);
    expect(await isJobDone(job)).toBe(false);
    const siblings = () => fs.readdir(dirname(job.out));
    const parts = (await siblings()).filter((n) => n.startsWith(`.${basename(job.out)}.part-`));
    expect(parts).toHaveLength(1);
    expect(first!.log).toBe(join(dirname(job.out), parts[0]!, 'job.log'));
    expect(await fs.readFile(join(dirname(job.out), parts[0]!, 'w.txt'), 'utf8')).toBe('half');

    const [second] = await runJobs(planned, { concurrency: 1, bin });
    expect(second!.status).toBe('done');
    expect(second!.host).toBe(hostname());
    expect(await fs.readFile(join(job.out, 'w.txt'), 'utf8')).toBe('half + rest');
    expect(await fs.readFile(join(job.out, 'job.log'), 'utf8')).toMatch(/crash-once .*--resume/);
    expect(await siblings()).toEqual([basename(job.out)]);
    expect((await fs.readdir(job.out)).sort()).toEqual(['.skingan-job.json', 'job.log', 'w.txt']);
  });

  it('two runners racing on one job: one complete output in place, the other dropped', async () => {
    const jobs: Job[] = [{ id: 'race', stage: 's', args: ['write', '{out}/f', 'x', '300'], deps: [] }];
    const planned = planJobs(jobs, exp());
    const all = new Map(planned.map((j) => [j.id, j]));
    const results = await Promise.all([runJob(planned[0]!, all, { bin }), runJob(planned[0]!, all, { bin })]);
    expect(results.map((r) => r.status).sort()).toEqual(['done', 'reused']);
    expect(await fs.readFile(join(planned[0]!.out, 'f'), 'utf8')).toBe('x');
    expect(await isJobDone(planned[0]!)).toBe(true);
    expect(await fs.readdir(dirname(planned[0]!.out))).toEqual([basename(planned[0]!.out)]);
  });

  it("takes over another machine's work folder only once its heartbeat has stopped", async () => {
    const out = join(dir, 'jobs', 'x-123');
    const never = async () => false;
    const foreign = async (age: number) => {
      const part = join(dirname(out), `.${basename(out)}.part-99-${age}`);
      await fs.mkdir(part, { recursive: true });
      await fs.writeFile(join(part, 'ckpt'), String(age));
      const owner = join(part, '.skingan-owner.json');
      await fs.writeFile(owner, JSON.stringify({ host: 'another-host', pid: 1 }));
      const t = new Date(Date.now() - age);
      await fs.utimes(owner, t, t);
      return part;
    };
    const live = await foreign(1000);
    const fresh = await claimWorkFolder(out, never, { resume: true });
    expect(fresh.resumed).toBe(false);
    expect(existsSync(live)).toBe(true);
    await fresh.abandon();

    await fs.rm(join(dir, 'jobs'), { recursive: true });
    await foreign(PARTIAL_STALE_MS + 60_000);
    const taken = await claimWorkFolder(out, never, { resume: true });
    expect(taken.resumed).toBe(true);
    expect(await fs.readFile(join(taken.dir, 'ckpt'), 'utf8')).toBe(String(PARTIAL_STALE_MS + 60_000));
    await taken.abandon();
  });

  it('status without a queue: done, running (a work folder with a live owner), failed, waiting', async () => {
    const jobs: Job[] = ['done', 'live', 'dead', 'failed', 'waiting'].map((id) => ({
      id,
      stage: 's',
      args: ['write', '{out}/f', id],
      deps: [],
    }));
    const planned = planJobs(jobs, exp());
    const byId = new Map(planned.map((j) => [j.id, j]));
    await runJob(byId.get('done')!, byId, { bin });
    const partial = async (id: string, pid: number) => {
      const out = byId.get(id)!.out;
      const part = join(dirname(out), `.${basename(out)}.part-${pid}-abc`);
      await fs.mkdir(part, { recursive: true });
      await fs.writeFile(join(part, '.skingan-owner.json'), JSON.stringify({ host: hostname(), pid }));
    };
    await partial('live', process.pid);
    await partial('dead', 2 ** 22 + 1); // above Linux's pid_max: no such process
    const status = await folderStatus({
      jobs: planned,
      results: { failed: { status: 'failed', error: 'exit 1', ms: 5, log: 'failed.log' } },
    });
    expect(status.map((j) => [j.id, j.state])).toEqual([
      ['done', 'done'],
      ['live', 'running'],
      ['dead', 'waiting'],
      ['failed', 'failed'],
      ['waiting', 'waiting'],
    ]);
    expect(status[1]!.worker).toBe(`${hostname()} (pid ${process.pid})`);
    expect(status[3]!.error).toBe('exit 1');
  });

  it('rejects unknown dependencies and cycles', () => {
    expect(() => planJobs([{ id: 'a', stage: 's', args: [], deps: ['zz'] }], exp())).toThrow(
      /unknown job dependency "zz"/,
    );
    expect(() =>
      planJobs(
        [
          { id: 'a', stage: 's', args: [], deps: ['b'] },
          { id: 'b', stage: 's', args: [], deps: ['a'] },
        ],
        exp(),
      ),
    ).toThrow(/cycle/);
  });
});
