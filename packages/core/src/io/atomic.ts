import { randomBytes } from 'node:crypto';
import { appendFileSync, promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SkinganError } from '../errors.js';
import { isProcessAlive } from '../process-alive.js';
import { beforeCommit } from './fault.js';

/** A unique temp name next to `path`, so the final rename stays on one file system. */
export function tempSibling(path: string, tag = 'tmp'): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Matches `tempSibling` names; group 1 is the writer's pid. */
const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

export interface WriteOptions {
  /**
   * fsync before the rename (default true), so the file survives a power loss and not only a kill.
   * Bulk image writes of resumable jobs skip it: a lost image is simply redone.
   */
  sync?: boolean;
}

/**
 * Writes a file so readers see the old content or the new, never a torn one (write temp, fsync,
 * rename). On failure the temp is removed and a full disk is reported as such, naming `path`.
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteOptions = {},
): Promise<void> {
  const tmp = tempSibling(path);
  try {
    await fs.mkdir(dirname(path), { recursive: true });
    const fh = await fs.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      if (options.sync !== false) await fh.sync();
    } finally {
      await fh.close();
    }
    beforeCommit(path);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    // The user asked for `path`: a refusal (permissions, read-only, full disk) names it, not our temp name.
    if ((e as NodeJS.ErrnoException).path === tmp) (e as NodeJS.ErrnoException).path = path;
    throw diskFull(e, path);
  }
}

/** Appends to a file at once (a crash right after loses nothing), a full disk named as such. */
export function appendFileNow(path: string, text: string): void {
  try {
    beforeCommit(path);
    appendFileSync(path, text);
  } catch (e) {
    throw diskFull(e, path);
  }
}

/**
 * `e` as the user should read it when the disk (or quota) is full: Node's ENOSPC names neither the
 * file nor what to do. Other errors pass through unchanged.
 */
export function diskFull(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENOSPC' && code !== 'EDQUOT') return e;
  return new SkinganError(`disk full (${code}) while writing this`, {
    code: 'DISK_FULL',
    file: path,
    hint: 'free some space and run the same command again (training commands with --resume); what was written before is intact',
    cause: e,
  });
}

/**
 * Removes what killed writers left in `dir`: `tempSibling` files and folders whose process is gone
 * (a live writer's temps, this process' included, are kept). With `of`, only the temps of that file.
 */
export async function removeStaleTemps(dir: string, options: { of?: string } = {}): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const prefix = options.of === undefined ? undefined : `.${options.of}.tmp-`;
  await Promise.all(
    names.map(async (name) => {
      const m = TEMP_NAME.exec(name);
      if (prefix && !name.startsWith(prefix)) return;
      if (m && !isProcessAlive(Number(m[1]))) await fs.rm(join(dir, name), { recursive: true, force: true });
    }),
  );
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Replaces directory `dir` with the contents `fill` writes into a fresh temp directory. A kill at
 * any point leaves either the old directory or the new one complete (plus a stray temp to clean).
 */
export async function replaceDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = tempSibling(dir);
  try {
    await fs.mkdir(dirname(dir), { recursive: true });
    await removeStaleTemps(dirname(dir));
    await fs.mkdir(tmp);
    await fill(tmp);
    beforeCommit(dir);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw diskFull(e, dir);
  }
  const old = tempSibling(dir, 'old');
  let hadOld = true;
  try {
    await fs.rename(dir, old);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    hadOld = false;
  }
  await fs.rename(tmp, dir);
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
}

/**
 * If a replace was killed between its two renames, `dir` is missing and its previous version sits
 * in a `.old` sibling: put it back. Returns whether `dir` exists afterwards.
 */
export async function recoverDir(dir: string): Promise<boolean> {
  if (await pathExists(dir)) return true;
  const parent = dirname(dir);
  const prefix = `.${basename(dir)}.old-`;
  const entries = await fs.readdir(parent).catch(() => [] as string[]);
  const old = entries.find((e) => e.startsWith(prefix));
  if (!old) return false;
  await fs.rename(join(parent, old), dir);
  return true;
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}
