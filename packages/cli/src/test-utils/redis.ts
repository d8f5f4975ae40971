import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseQueueUrl, probeRedis } from '../experiment/queue/connection.js';

/** Whether Debian's `redis-server` is installed (queue tests skip without it). */
export const haveRedis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
export const NO_REDIS =
  'redis-server is not installed (apt-get install -y redis-server): queue tests skipped';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface TestRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * A private redis-server on a free loopback port: bound to 127.0.0.1, nothing saved to disk, a
 * password when given. Waits (at most 20 s) until it answers PING.
 */
export async function startRedis(password?: string): Promise<TestRedis> {
  const port = await freePort();
  const dir = await fs.mkdtemp(join(tmpdir(), 'skingan-redis-'));
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
  ];
  if (password) args.push('--requirepass', password);
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const url = `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}/0`;
  const stop = async () => {
    if (child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  const target = parseQueueUrl(url);
  for (let i = 0; ; i++) {
    try {
      await probeRedis(target, 1000);
      return { url, stop };
    } catch (e) {
      if (i >= 40 || child.exitCode !== null) {
        await stop();
        throw e;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
