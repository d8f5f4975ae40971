import { promises as fs } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { SkinganError } from '../errors.js';
import { LOCK_FILE } from '../run/folder-lock.js';
import { pathExists, removeStaleTemps, writeJsonAtomic } from './atomic.js';

/**
 * No command overwrites an input it read, or a file it did not create, without `--force`.
 *
 * A command checks each output path before it starts (`checkOutput`) and claims it right before it
 * writes (`claimOutput`): the claim is a small hidden record beside the output,
 * `.<name>.skingan-output.json`, naming the command. A later run of the same command may replace
 * what an earlier one (finished or killed) wrote; anything else needs `force`. The record sits
 * beside each output rather than in one registry per folder, so concurrent jobs never race on it.
 */
export interface OutputCheck {
  /** The command that writes, as the user types it: 'classifier predict', 'data prepare'... */
  command: string;
  /** Files and folders the command reads. */
  inputs?: readonly string[];
  /** The user's `--force`: overwrite anyway. */
  force?: boolean;
}

interface OwnerRecord {
  command: string;
  writtenAt: string;
}

/** Where the record of who wrote `path` lives. */
export function ownerRecordPath(path: string): string {
  const abs = resolve(path);
  return join(dirname(abs), `.${basename(abs)}.skingan-output.json`);
}

/** The command that wrote `path` (by its record), or undefined. */
export async function outputOwner(path: string): Promise<string | undefined> {
  try {
    const r = JSON.parse(await fs.readFile(ownerRecordPath(path), 'utf8')) as Partial<OwnerRecord>;
    return typeof r.command === 'string' ? r.command : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Throws (code USAGE, hint `--force`) when `path` is one of the inputs, holds an input, or exists
 * without having been written by this command. Returns the absolute path.
 */
export async function checkOutput(path: string, check: OutputCheck): Promise<string> {
  const out = resolve(path);
  if (check.force) return out;
  const flag = (why: string) =>
    new SkinganError(why, {
      code: 'USAGE',
      file: out,
      hint: 'choose another output, or pass --force to overwrite it',
    });
  for (const input of check.inputs ?? []) {
    const inp = resolve(input);
    if (inp === out) throw flag(`is an input of \`skingan ${check.command}\`; it would be overwritten`);
    if (isInside(inp, out)) throw flag(`holds ${inp}, an input of \`skingan ${check.command}\``);
  }
  if (!(await pathExists(out))) return out;
  if (await isEmptyDir(out)) return out;
  const owner = await outputOwner(out);
  if (owner === check.command) return out;
  throw flag(
    owner
      ? `already exists, written by \`skingan ${owner}\`, not by \`skingan ${check.command}\``
      : `already exists and was not written by \`skingan ${check.command}\``,
  );
}

/** Records that `command` writes `path` (call right before writing, after `checkOutput`). */
export async function claimOutput(path: string, command: string): Promise<void> {
  if ((await outputOwner(path)) === command) return;
  const record = ownerRecordPath(path);
  // The record sits in the user's folder, not in the output: a killed claim's temp is cleared here.
  await removeStaleTemps(dirname(record), { of: basename(record) });
  try {
    await writeJsonAtomic(record, { command, writtenAt: new Date().toISOString() } satisfies OwnerRecord);
  } catch (e) {
    // A refusal to write the record (permissions, read-only) is one to write the output: name that.
    const err = e as NodeJS.ErrnoException;
    if (err.path === record) err.path = resolve(path);
    throw e;
  }
}

/** `checkOutput`, then `claimOutput`: for outputs a command starts writing at once. */
export async function checkAndClaimOutput(path: string, check: OutputCheck): Promise<string> {
  const out = await checkOutput(path, check);
  await claimOutput(out, check.command);
  return out;
}

function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep);
}

/** Empty but for a folder lock: a folder another process is about to write is its lock's to refuse. */
async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await fs.readdir(path)).every((name) => name === LOCK_FILE);
  } catch {
    return false;
  }
}
