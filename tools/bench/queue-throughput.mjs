// Throughput of the BullMQ queue: 8 classifier jobs with 1 worker, then with 2 (SKINGAN_THREADS=1
// each). Needs `redis-server` and a built CLI (`pnpm turbo run build --filter=@skingan/cli...`).
// Usage: node tools/bench/queue-throughput.mjs [epochs=8] [rounds=3]. Rounds are taken in turns
// (1 worker, 2 workers, 1, 2, …) so the machine's noise falls on both alike; the ratio is the median
// of the per-round ratios. Starts its own redis-server on a free loopback port and removes everything
// it wrote.
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/dist');
const BIN = join(dist, 'bin.js');
const { planJobs } = await import(join(dist, 'experiment/job.js'));
const { runJobsOnQueue } = await import(join(dist, 'experiment/queue/submit.js'));
const { connectionOptions, parseQueueUrl, probeRedis, QUEUE_NAME } = await import(
  join(dist, 'experiment/queue/connection.js')
);
const { Queue } = createRequire(BIN)('bullmq');

const epochs = process.argv[2] ?? '8';
const rounds = Number(process.argv[3] ?? '3');
const env = { ...process.env, CI: '1', SKINGAN_THREADS: '1' };
const cli = (...args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`skingan ${args.join(' ')}: ${r.stderr}`);
};

const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-queue-bench-'));
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
  { stdio: 'ignore' },
);
const url = `redis://127.0.0.1:${port}/0`;
try {
  for (let i = 0; ; i++) {
    try {
      await probeRedis(parseQueueUrl(url), 1000);
      break;
    } catch (e) {
      if (i > 20) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  cli('data', 'demo-set', '--out', join(dir, 'demo'));
  cli('data', 'split', join(dir, 'demo'), '--seed', '1', '--out', join(dir, 'split.json'));

  const grid = async (n, round) => {
    const exp = join(dir, `exp-${round}-${n}`);
    await fs.mkdir(exp, { recursive: true });
    await fs.writeFile(join(exp, 'experiment.json'), '{}');
    const jobs = planJobs(
      Array.from({ length: 8 }, (_, i) => ({
        id: `classifier/seed-${i}`,
        stage: 'classifier',
        args: [
          'classifier',
          'train',
          '--data',
          join(dir, 'demo'),
          '--split',
          join(dir, 'split.json'),
          '--preset',
          'test',
          '--size',
          '32',
          '--epochs',
          epochs,
          '--seed',
          String(i),
          '--out',
          '{out}/run',
        ],
        deps: [],
      })),
      exp,
    );
    const workers = Array.from({ length: n }, () =>
      spawn(process.execPath, [BIN, 'worker', '--queue', url], { env, stdio: 'ignore' }),
    );
    // Throughput of running workers (a grid's workers run for hours): timed once they are connected,
    // with the submitter looking at the jobs every 100 ms (its 1 s default would round each grid up).
    const queue = new Queue(QUEUE_NAME, { connection: connectionOptions(parseQueueUrl(url)) });
    while ((await queue.getWorkers()).length < n) await new Promise((r) => setTimeout(r, 100));
    await queue.close();
    const t0 = Date.now();
    const results = await runJobsOnQueue(jobs, { url, experiment: exp, backend: null, pollMs: 100 });
    const s = (Date.now() - t0) / 1000;
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode === null ? w.on('exit', r) : r()))));
    const bad = results.filter((r) => r.status !== 'done');
    if (bad.length) throw new Error(`jobs did not finish: ${JSON.stringify(bad)}`);
    console.log(`round ${round}: ${n} worker(s): 8 classifier jobs in ${s.toFixed(1)} s`);
    return s;
  };
  const ratios = [];
  for (let round = 1; round <= rounds; round++) {
    const one = await grid(1, round);
    const two = await grid(2, round);
    ratios.push(two / one);
    console.log(`round ${round}: 2 workers / 1 worker = ${(two / one).toFixed(3)}`);
  }
  const sorted = [...ratios].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(`2 workers / 1 worker: ${median.toFixed(2)}× the time (median of ${rounds} rounds in turns)`);
} finally {
  redis.kill('SIGKILL');
  await fs.rm(dir, { recursive: true, force: true });
}
