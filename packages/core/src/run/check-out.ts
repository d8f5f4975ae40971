import { promises as fs } from 'node:fs';
import { resolve } from 'node:path';
import { SkinganError } from '../errors.js';

export interface RunOutState {
  /** Absolute path of the folder. */
  dir: string;
  /** The folder holds a run (config.json). */
  isRun: boolean;
}

/**
 * Checks a training command's --out before any data is loaded: a new or empty folder starts a run;
 * an existing run needs --resume; a non-empty folder that is not a run is refused, so nothing of the
 * user's is mixed with a run's files. Hidden entries (a lock file) do not count.
 */
export async function checkRunOut(
  out: string,
  options: { resume?: boolean /** e.g. "classifier", for messages. */; kind?: string } = {},
): Promise<RunOutState> {
  const dir = resolve(out);
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat) return { dir, isRun: false };
  if (!stat.isDirectory()) {
    throw new SkinganError('--out is a file, not a folder', {
      code: 'USAGE',
      file: dir,
      hint: 'choose a new folder for the run',
    });
  }
  const entries = (await fs.readdir(dir)).filter((e) => !e.startsWith('.'));
  const isRun = entries.includes('config.json');
  if (isRun && !options.resume) {
    throw new SkinganError('a run already exists here', {
      code: 'USAGE',
      file: dir,
      hint: 'pass --resume to continue it, or choose another --out folder',
    });
  }
  if (!isRun && entries.length > 0) {
    const shown =
      entries.slice(0, 3).join(', ') + (entries.length > 3 ? `, … (${entries.length} entries)` : '');
    throw new SkinganError(
      `--out is a non-empty folder that is not ${options.kind ? `a ${options.kind} ` : 'a '}run (it holds ${shown})`,
      {
        code: 'USAGE',
        file: dir,
        hint: 'choose a new or empty folder: a run writes config.json, checkpoints/, samples/ and more into it',
      },
    );
  }
  return { dir, isRun };
}
