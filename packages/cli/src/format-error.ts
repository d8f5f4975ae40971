import { dirname } from 'node:path';
import { isSkinganError } from '@skingan/core';

/**
 * The text the CLI prints for an error and the exit code (2 usage, 1 failure); ui/output.ts prints it,
 * or the JSON form of the same fields with --json.
 */
export function formatError(e: unknown, debug: boolean): { text: string; exitCode: number } {
  const { message, hint } = describeError(e);
  const err = e instanceof Error ? e : new Error(String(e));
  // A SkinganError is meant for the user: no note about a stack trace it does not need.
  const note = isSkinganError(e) ? '' : '  (run with --debug for the stack trace)\n';
  return {
    text: `skingan: ${message}\n${hint ? `  hint: ${hint}\n` : ''}${debug && err.stack ? `${err.stack}\n` : note}`,
    exitCode: isSkinganError(e) && e.code === 'USAGE' ? 2 : 1,
  };
}

/**
 * The fields both forms of an error show: a SkinganError's own (its hint, else that of the system
 * error that caused it); a permission, read-only or full-disk error in words, with what to do;
 * anything else as an INTERNAL error with its message.
 */
export function describeError(e: unknown): {
  code: string;
  message: string;
  hint: string | undefined;
  file: string | undefined;
} {
  if (isSkinganError(e)) {
    const sys = systemError(e.cause);
    return { code: e.code, message: e.message, hint: e.hint ?? (sys && systemErrorHint(sys)), file: e.file };
  }
  const sys = systemError(e);
  const hint = sys && systemErrorHint(sys);
  if (sys && hint) {
    const code = sys.code === 'ENOSPC' ? 'DISK_FULL' : sys.code === 'EROFS' ? 'READ_ONLY' : 'PERMISSION';
    return { code, message: describeSystemError(sys), hint, file: sys.path };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: 'INTERNAL', message, hint: undefined, file: undefined };
}

/** Node's errors from the file system: `code` (EACCES …), `syscall` and `path`. */
interface SystemError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

function systemError(e: unknown): SystemError | undefined {
  return e instanceof Error && typeof (e as SystemError).code === 'string' ? (e as SystemError) : undefined;
}

const VERBS: Record<string, string> = {
  open: 'open',
  mkdir: 'create the folder',
  rename: 'rename',
  unlink: 'delete',
  rmdir: 'delete the folder',
  scandir: 'list the folder',
  copyfile: 'copy',
  write: 'write',
  access: 'access',
};

function describeSystemError(e: SystemError): string {
  const what =
    e.code === 'ENOSPC'
      ? 'no space left on the device'
      : e.code === 'EROFS'
        ? 'read-only file system'
        : 'permission denied';
  const verb = VERBS[e.syscall ?? ''] ?? e.syscall ?? 'use';
  return e.path ? `${what}: cannot ${verb} ${e.path}` : `${what} (${e.message})`;
}

/** What to do about a permission, read-only or full-disk error, naming the path; undefined for other errors. */
function systemErrorHint(e: SystemError): string | undefined {
  const path = e.path ? ` ${e.path}` : '';
  const parent = e.path ? dirname(e.path) : undefined;
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      return `this user may not ${VERBS[e.syscall ?? ''] ?? 'use'}${path}: check its permissions${parent ? ` and those of ${parent}` : ''} (ls -ld), or choose a folder you can write to (--out)`;
    case 'EROFS':
      return `${path.trim() || 'the path'} is on a read-only file system: choose a writable folder (--out)`;
    case 'ENOSPC':
      return `free some space${parent ? ` on the disk of ${parent}` : ''} (df -h), or choose another folder (--out)`;
    default:
      return undefined;
  }
}
