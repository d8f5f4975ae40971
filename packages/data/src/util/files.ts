import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Prefix of the temp files this package writes next to their final name (ignored by readers). */
export const TEMP_PREFIX = '.';

/**
 * Writes `data` to a temp name beside `path`, then renames it into place, so a killed process never
 * leaves a half-written file under the final name. No fsync: this guards against kills, which is what
 * resumable image writing needs, at a fraction of the cost of syncing every image.
 */
export async function writeFileReplace(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(
    dirname(path),
    `${TEMP_PREFIX}${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** Removes temp files left in `dir` by killed writes. */
export async function removeStaleTemps(dir: string): Promise<void> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names
      .filter((n) => n.startsWith(TEMP_PREFIX) && n.endsWith('.tmp'))
      .map((n) => fs.rm(join(dir, n), { force: true })),
  );
}
