import { parseString } from 'fast-csv';
import { SkinganError } from '../errors.js';

/**
 * The records of a CSV file's text, as RFC 4180 reads them: quoted fields (with `,`, `""` or line
 * ends inside), LF or CRLF, a leading byte-order mark dropped. Fields are not trimmed. A blank line
 * is the empty record `[]`, so record r is on line r + 1 unless a quoted field spans lines. A malformed
 * file (e.g. text after a closing quote) throws a SkinganError naming `file`.
 */
export function parseCsvRecords(text: string, file: string): Promise<string[][]> {
  return new Promise((resolve, reject) => {
    const records: string[][] = [];
    parseString<string[], string[]>(text.replace(/^\uFEFF/, ''), { headers: false, ignoreEmpty: false })
      .on('error', (e: Error) =>
        reject(
          new SkinganError(`not a valid CSV file: ${e.message}`, {
            file,
            cause: e,
            hint: 'fields with commas or quotes must be quoted, and quotes inside them doubled ("")',
          }),
        ),
      )
      .on('data', (r: string[]) => records.push(r))
      .on('end', () => resolve(records));
  });
}

/** Whether a record is a blank line (a row of empty fields, `,,`, is not: it is a row with no values). */
export function isBlankRecord(record: readonly string[]): boolean {
  return record.length === 0 || (record.length === 1 && record[0]!.trim() === '');
}
