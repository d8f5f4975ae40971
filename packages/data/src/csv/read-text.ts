import { promises as fs } from 'node:fs';
import { SkinganError } from '@skingan/core';

/**
 * A CSV file's text; a missing or unreadable file throws a SkinganError naming it ("cannot read
 * the `what`", NOT_FOUND when it does not exist).
 */
export async function readCsvText(path: string, what: string, hint?: string): Promise<string> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new SkinganError(`cannot read the ${what}`, {
      code: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'BAD_INPUT',
      file: path,
      cause: e,
      ...(hint ? { hint } : {}),
    });
  }
}
