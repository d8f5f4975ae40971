import { promises as fs } from 'node:fs';
import { isBlankRecord, SkinganError } from '@skingan/core';

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

/**
 * The data rows of parsed CSV records (`records[0]` is the header), with their 1-based line:
 * blank lines are skipped, and a row with another field count than the header throws naming
 * `file` and the line.
 */
export function* dataRows(
  records: readonly string[][],
  file: string,
): Generator<{ fields: string[]; line: number }> {
  const width = records[0]?.length ?? 0;
  for (let r = 1; r < records.length; r++) {
    const fields = records[r]!;
    const line = r + 1;
    if (isBlankRecord(fields)) continue;
    if (fields.length !== width) {
      throw new SkinganError(`the row has ${fields.length} fields, the header has ${width}`, { file, line });
    }
    yield { fields, line };
  }
}
