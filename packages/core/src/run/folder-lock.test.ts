import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isProcessAlive } from '../process-alive.js';
import { folderLockHolder, LOCK_FILE, lockFolder, processGone } from './folder-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-lock-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (pids are not reused this quickly on Linux). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

async function writeLock(pid: number, host = hostname()): Promise<void> {
  await fs.writeFile(
    join(dir, LOCK_FILE),
    JSON.stringify({ pid, host, command: 'acgan train', startedAt: '2026-01-01T00:00:00.000Z' }),
  );
}

describe('lockFolder', () => {
  it('writes pid, host and command into the lock file and removes it on release', async () => {
    const lock = await lockFolder(join(dir, 'run'), { command: 'classifier train' });
    expect(await folderLockHolder(join(dir, 'run'))).toMatchObject({
      pid: process.pid,
      host: hostname(),
      command: 'classifier train',
    });
    await lock.release();
    expect(await folderLockHolder(join(dir, 'run'))).toBeUndefined();
    await lock.release(); // idempotent
  });

  it('refuses a folder a live process holds, naming its pid, host and command', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      await writeLock(child.pid!);
      const err = await lockFolder(dir, { command: 'acgan train' }).catch((e) => e);
      expect(err.code).toBe('USAGE');
      expect(err.message).toContain(
        `another process is writing into this folder: \`acgan train\` (pid ${child.pid} on ${hostname()}`,
      );
      expect(err.hint).toContain(`kill ${child.pid}`);
      // The holder's lock is untouched.
      expect((await folderLockHolder(dir))?.pid).toBe(child.pid);
    } finally {
      child.kill();
    }
  });

  it('refuses a lock from another host (its pid cannot be checked) and says how to clear it', async () => {
    await writeLock(process.pid, 'some-other-host');
    const err = await lockFolder(dir, { command: 'acgan train' }).catch((e) => e);
    expect(err.message).toContain('on some-other-host');
    expect(err.hint).toContain(`delete ${join(dir, LOCK_FILE)}`);
  });

  it('takes over a stale lock (dead pid on this host) with a notice', async () => {
    const pid = deadPid();
    expect(isProcessAlive(pid)).toBe(false);
    expect(processGone(pid, hostname())).toBe(true);
    await writeLock(pid);
    const notices: string[] = [];
    const lock = await lockFolder(dir, { command: 'acgan train', notice: (l) => notices.push(l) });
    expect(notices).toEqual([
      `notice: ${dir} was locked by \`acgan train\` (pid ${pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z), which is no longer running; taking the lock over`,
    ]);
    expect((await folderLockHolder(dir))?.pid).toBe(process.pid);
    await lock.release();
    expect((await fs.readdir(dir)).filter((f) => f.includes('lock'))).toEqual([]);
  });
});
