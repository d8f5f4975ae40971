// Throughput of the BullMQ queue: 8 classifier jobs with 1 worker, then with 2 (SKINGAN_THREADS=1
// each). Needs `redis-server` and a built CLI (`pnpm turbo run build --filter=@skingan/cli...`).
// Usage: node tools/bench/queue-throughput.mjs [epochs=8]. Starts its own redis-server on a free
// loopback port and removes everything it wrote.
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = join(dirname(fileURLToPath(import.meta.url)), '../../packages/cli/dist');
const BIN = join(dist, 'bin.js');
const { planJobs } = await import(join(dist, 'experiment/job.js'));
const { runJobsOnQueue } = await import(join(dist, 'experiment/queue/submit.js'));
const { parseQueueUrl, probeRedis } = await import(join(dist, 'experiment/queue/connection.js'));

const epochs = process.argv[2] ?? '8';
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

  const seconds = {};
  for (const n of [1, 2]) {
    const exp = join(dir, `exp-${n}`);
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
    const t0 = Date.now();
    const results = await runJobsOnQueue(jobs, { url, experiment: exp, backend: null });
    seconds[n] = (Date.now() - t0) / 1000;
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode === null ? w.on('exit', r) : r()))));
    const bad = results.filter((r) => r.status !== 'done');
    if (bad.length) throw new Error(`jobs did not finish: ${JSON.stringify(bad)}`);
    console.log(`${n} worker(s): 8 classifier jobs in ${seconds[n].toFixed(1)} s`);
  }
  console.log(`2 workers / 1 worker: ${(seconds[2] / seconds[1]).toFixed(2)}× the time`);
} finally {
  redis.kill('SIGKILL');
  await fs.rm(dir, { recursive: true, force: true });
}
