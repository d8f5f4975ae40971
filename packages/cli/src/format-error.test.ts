import { SkinganError } from '@skingan/core';
import { describe, expect, it } from 'vitest';
import { formatError } from './format-error.js';

function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: permission denied, ${syscall} '${path}'`) as NodeJS.ErrnoException;
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

describe('formatError', () => {
  it('raw EACCES on mkdir /data/out/run → "permission denied: cannot create the folder /data/out/run" + a hint naming the path and the parent', () => {
    const { text, exitCode } = formatError(errno('EACCES', 'mkdir', '/data/out/run'), false);
    expect(exitCode).toBe(1);
    expect(text).toBe(
      'skingan: permission denied: cannot create the folder /data/out/run\n' +
        '  hint: this user may not create the folder /data/out/run: check its permissions and those of /data/out (ls -ld), or choose a folder you can write to (--out)\n' +
        '  (run with --debug for the stack trace)\n',
    );
  });

  it('a SkinganError caused by EACCES without a hint of its own gets the permission hint', () => {
    const e = new SkinganError('cannot read the labels file', {
      file: '/d/labels.csv',
      cause: errno('EACCES', 'open', '/d/labels.csv'),
    });
    expect(formatError(e, false).text).toBe(
      'skingan: /d/labels.csv: cannot read the labels file\n' +
        '  hint: this user may not open /d/labels.csv: check its permissions and those of /d (ls -ld), or choose a folder you can write to (--out)\n',
    );
  });

  it('ENOSPC and EROFS say what happened; other errors and usage errors are as before', () => {
    expect(formatError(errno('ENOSPC', 'write', '/full/x'), false).text).toMatch(
      /^skingan: no space left on the device: cannot write \/full\/x\n {2}hint: free some space on the disk of \/full \(df -h\)/,
    );
    expect(formatError(errno('EROFS', 'open', '/ro/x'), false).text).toMatch(
      /read-only file system: cannot open \/ro\/x/,
    );
    expect(formatError(new Error('boom'), false).text).toBe(
      'skingan: boom\n  (run with --debug for the stack trace)\n',
    );
    expect(formatError(new SkinganError('bad flag', { code: 'USAGE', hint: 'fix it' }), false)).toEqual({
      text: 'skingan: bad flag\n  hint: fix it\n',
      exitCode: 2,
    });
  });
});
