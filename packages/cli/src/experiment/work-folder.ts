import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { isProcessAlive, tempSibling } from '@skingan/core';
import { readJsonIfAny } from '../read-json.js';

/**
 * A job writes into a private folder next to its output (`.<name>.part-<pid>-<random>`) and the
 * finished folder is renamed into place, so the output folder exists only complete, whoever wrote
 * it: two workers racing on one job, or one killed mid-write, never leave a half output that the
 * cache would accept. A partial folder whose owner is gone is taken over (renamed, which only one
 * claimant can win) so a training command can `--resume` from its checkpoints.
 */
interface WorkFolder {
  dir: string;
  /** Taken over from an earlier attempt, files and all, to resume from. */
  resumed: boolean;
  /** Stops the heartbeat and gives the folder up (a failed attempt: a later one may take it over). */
  abandon(): Promise<void>;
}

const OWNER = '.skingan-owner.json';
const HEARTBEAT_MS = 5_000;
/** A partial folder of another machine whose owner file is this old is abandoned. */
export const PARTIAL_STALE_MS = 30_000;

const partPrefix = (out: string) => `.${basename(out)}.part-`;

/** Partial folders of `out`, plus `out` itself when it has no completion marker (older layout). */
async function partials(out: string, isDone: () => Promise<boolean>): Promise<string[]> {
  const parent = dirname(out);
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const found = names.filter((n) => n.startsWith(partPrefix(out))).map((n) => join(parent, n));
  if (names.includes(basename(out)) && !(await isDone())) found.push(out);
  return found;
}

/** Whether nobody works in `dir` any more: its owner process is gone, or its heartbeat stopped. */
async function abandoned(dir: string, now: number): Promise<boolean> {
  const owner = await readJsonIfAny<{ host: string; pid: number }>(join(dir, OWNER));
  if (!owner) return true; // no owner file: written before owners existed, or killed before writing it
  if (owner.host === hostname()) return !isProcessAlive(owner.pid);
  const { mtimeMs } = await fs.stat(join(dir, OWNER)).catch(() => ({ mtimeMs: 0 }));
  return now - mtimeMs > PARTIAL_STALE_MS;
}

/** Who works on `out` now: the owner of a partial folder that is not abandoned (none: nobody). */
export async function activeOwner(out: string): Promise<{ host: string; pid: number } | undefined> {
  const now = Date.now();
  for (const p of await partials(out, async () => true)) {
    if (await abandoned(p, now)) continue;
    const owner = await readJsonIfAny<{ host: string; pid: number }>(join(p, OWNER));
    if (owner) return owner;
  }
  return undefined;
}

/**
 * A folder of our own for `out`: an abandoned partial taken over when there is one (newest first),
 * else a new one. Owned folders of live workers are left alone. Without `resume` a taken-over
 * folder is emptied (a command that cannot resume starts from nothing).
 */
export async function claimWorkFolder(
  out: string,
  isDone: () => Promise<boolean>,
  options: { resume: boolean },
): Promise<WorkFolder> {
  await fs.mkdir(dirname(out), { recursive: true });
  const mine = tempSibling(out, 'part');
  const now = Date.now();
  const found = await partials(out, isDone);
  const withTimes = await Promise.all(
    found.map(async (p) => ({ p, t: (await fs.stat(p).catch(() => ({ mtimeMs: 0 }))).mtimeMs })),
  );
  let taken = false;
  for (const { p } of withTimes.sort((a, b) => b.t - a.t)) {
    if (!(await abandoned(p, now))) continue;
    try {
      await fs.rename(p, mine);
      taken = true;
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // another claimant won it
    }
  }
  if (taken && !options.resume) await fs.rm(mine, { recursive: true, force: true });
  const resumed = taken && options.resume;
  if (!resumed) await fs.mkdir(mine);
  const owner = join(mine, OWNER);
  await fs.writeFile(owner, JSON.stringify({ host: hostname(), pid: process.pid }));
  const beat = setInterval(() => {
    const t = new Date();
    fs.utimes(owner, t, t).catch(() => {});
  }, HEARTBEAT_MS);
  beat.unref();
  return {
    dir: mine,
    resumed,
    abandon: async () => {
      clearInterval(beat);
      await fs.rm(owner, { force: true });
    },
  };
}

/**
 * Renames a finished work folder into place. Returns false when another worker's output got there
 * first (ours is then removed: the job is done either way). Abandoned partials of the job go too.
 */
export async function commitWorkFolder(
  work: WorkFolder,
  out: string,
  isDone: () => Promise<boolean>,
): Promise<boolean> {
  await work.abandon();
  let won = true;
  try {
    await fs.rename(work.dir, out);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    if (!(await isDone())) throw new Error(`${out} exists but holds no finished output; remove it and rerun`);
    await fs.rm(work.dir, { recursive: true, force: true });
    won = false;
  }
  const now = Date.now();
  for (const p of await partials(out, isDone)) {
    if (p !== out && (await abandoned(p, now))) await fs.rm(p, { recursive: true, force: true });
  }
  return won;
}
