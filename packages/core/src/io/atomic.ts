import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A unique temp name next to `path`, so the final rename stays on one file system. */
export function tempSibling(path: string, tag = 'tmp'): string {
  return join(dirname(path), `.${basename(path)}.${tag}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Writes a file so readers see the old content or the new, never a torn one (write temp, fsync, rename). */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  const fh = await fs.open(tmp, 'w').catch((e: NodeJS.ErrnoException) => {
    // The user asked for `path`: a refusal (permissions, read-only, full disk) names it, not our temp name.
    if (e.path === tmp) e.path = path;
    throw e;
  });
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, path);
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Replaces directory `dir` with the contents `fill` writes into a fresh temp directory. A kill at
 * any point leaves either the old directory or the new one complete (plus a stray temp to clean).
 */
export async function replaceDirAtomic(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  await fs.mkdir(dirname(dir), { recursive: true });
  const tmp = tempSibling(dir);
  await fs.mkdir(tmp);
  try {
    await fill(tmp);
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
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
  try {
    await fs.access(dir);
    return true;
  } catch {
    const parent = dirname(dir);
    const prefix = `.${basename(dir)}.old-`;
    const entries = await fs.readdir(parent).catch(() => [] as string[]);
    const old = entries.find((e) => e.startsWith(prefix));
    if (!old) return false;
    await fs.rename(join(parent, old), dir);
    return true;
  }
}

export async function pathExists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}
