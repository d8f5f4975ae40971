import { promises as fs, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { SkinganError, type SkinganErrorOptions } from '../errors.js';
import { tempSibling } from '../io/atomic.js';
import { isProcessAlive } from '../process-alive.js';

/** The lock file every writing command holds in its output folder while it writes. */
export const LOCK_FILE = '.skingan.lock';

/** Who holds a folder: written into the lock file. */
export interface LockHolder {
  pid: number;
  host: string;
  /** What holds it, e.g. "acgan train". */
  command: string;
  startedAt: string;
}

export interface FolderLock {
  readonly dir: string;
  readonly path: string;
  readonly holder: LockHolder;
  /** Removes the lock file (only if it is still ours). Idempotent. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Named in the error another process gets, e.g. "classifier train". */
  command: string;
  /** Where stale-lock notices go (default stderr). */
  notice?: (line: string) => void;
}

/** Locks this process holds, removed on exit even when nobody calls `release` (an uncaught error). */
const held = new Map<string, { holder: LockHolder; handle: object }>();
let exitHookInstalled = false;

/**
 * Takes the lock of folder `dir` (created if missing) for this process, so two processes never
 * write into one run or output folder. The lock file (pid, host, command) appears atomically and
 * complete: it is written under a temp name and hard-linked into place, which fails if a lock
 * exists (the same exclusive-create guarantee as O_EXCL, without a window where the file is empty).
 *
 * An existing lock whose process is gone (same host, dead pid) is stale: it is taken over with a
 * notice. A live one, or one from another host (whose pid cannot be checked), is refused with an
 * error naming it. A lock this process already holds is shared (one process, one writer).
 */
export async function lockFolder(dir: string, options: LockOptions): Promise<FolderLock> {
  const abs = resolve(dir);
  const path = join(abs, LOCK_FILE);
  await fs.mkdir(abs, { recursive: true });
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    command: options.command,
    startedAt: new Date().toISOString(),
  };
  const tmp = tempSibling(path);
  await fs.writeFile(tmp, `${JSON.stringify(holder, null, 2)}\n`);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.link(tmp, path);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw e;
      }
      const other = await readLock(path);
      if (!other) continue; // released meanwhile
      if (other.pid === process.pid && other.host === holder.host) {
        return register(abs, path, other);
      }
      if (other.host !== holder.host || isProcessAlive(other.pid)) throw lockedError(abs, other);
      if (await takeOver(path, other)) {
        (options.notice ?? ((l) => process.stderr.write(`${l}\n`)))(
          `notice: ${abs} was locked by ${describe(other)}, which is no longer running; taking the lock over`,
        );
      }
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return register(abs, path, holder);
}

/** The holder of `dir`'s lock, or undefined when it is not locked. */
export async function folderLockHolder(dir: string): Promise<LockHolder | undefined> {
  return readLock(join(resolve(dir), LOCK_FILE));
}

/**
 * Whether a run recorded as held by `pid` on `host` is known to be gone: same host and the process
 * no longer exists (another host's processes cannot be checked: not known).
 */
export function processGone(pid: unknown, host: unknown): boolean {
  return typeof pid === 'number' && host === hostname() && !isProcessAlive(pid);
}

/** The newest handle of a path owns it: an earlier handle's release leaves it alone. */
function register(dir: string, path: string, holder: LockHolder): FolderLock {
  const handle = {};
  held.set(path, { holder, handle });
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const p of held.keys()) {
        try {
          unlinkSync(p);
        } catch {
          // already gone
        }
      }
    });
  }
  return {
    dir,
    path,
    holder,
    release: async () => {
      if (held.get(path)?.handle !== handle) return;
      held.delete(path);
      const now = await readLock(path);
      if (now && now.pid === holder.pid && now.startedAt === holder.startedAt)
        await fs.rm(path, { force: true });
    },
  };
}

async function readLock(path: string): Promise<LockHolder | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const h = JSON.parse(text) as LockHolder;
    if (typeof h.pid === 'number' && typeof h.host === 'string') return h;
  } catch {
    // fall through
  }
  throw new SkinganError('the folder lock is unreadable', {
    code: 'BAD_INPUT',
    file: path,
    hint: 'if no skingan command is writing into this folder, delete the lock file and retry',
  });
}

/**
 * Moves a stale lock aside, then checks that what moved is the stale lock we judged (another
 * process may have taken it over in between: its fresh lock is put back).
 */
async function takeOver(path: string, stale: LockHolder): Promise<boolean> {
  const aside = tempSibling(path, 'stale');
  try {
    await fs.rename(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const moved = await readLock(aside).catch(() => undefined);
  if (moved && (moved.pid !== stale.pid || moved.startedAt !== stale.startedAt)) {
    await fs.link(aside, path).catch(() => undefined);
    await fs.rm(aside, { force: true });
    throw lockedError(resolve(path, '..'), moved);
  }
  await fs.rm(aside, { force: true });
  return true;
}

function describe(h: LockHolder): string {
  return `\`${h.command}\` (pid ${h.pid} on ${h.host}, since ${h.startedAt})`;
}

/** `lockFolder`'s refusal: the folder is locked by `holder` (a caller may wait and try again). */
export class FolderLockedError extends SkinganError {
  constructor(
    message: string,
    options: SkinganErrorOptions,
    readonly holder: LockHolder,
  ) {
    super(message, options);
  }
}

function lockedError(dir: string, h: LockHolder): FolderLockedError {
  const sameHost = h.host === hostname();
  return new FolderLockedError(
    `another process is writing into this folder: ${describe(h)}`,
    {
      code: 'USAGE',
      file: dir,
      hint: sameHost
        ? `wait for it to finish or stop it (kill ${h.pid}), or choose another --out folder`
        : `wait for it to finish, or choose another --out folder; if that process is gone, delete ${join(dir, LOCK_FILE)}`,
    },
    h,
  );
}
