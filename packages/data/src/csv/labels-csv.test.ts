import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { isSkinganError, type SkinganError } from '@skingan/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { HEADER, row, tempDir } from '../test-utils/fixtures.js';
import { formatLabelsCsv, parseLabelsCsv, readLabelsCsv, writeLabelsCsv } from './labels-csv.js';

async function parseError(text: string, strict = false): Promise<SkinganError> {
  try {
    await parseLabelsCsv(text, 'labels.csv', { strict });
  } catch (e) {
    if (isSkinganError(e)) return e;
    throw e;
  }
  throw new Error('expected a SkinganError');
}

describe('readLabelsCsv', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir();
  });

  it('reads the official format with CRLF line ends and a UTF-8 BOM', async () => {
    const path = join(dir, 'crlf.csv');
    await fs.writeFile(path, `\uFEFF${HEADER}\r\n${row('ISIC_1', 'NV')}\r\n${row('ISIC_2', 'SCC')}\r\n`);
    const csv = await readLabelsCsv(path);
    expect(csv.rows).toEqual([
      { id: 'ISIC_1', className: 'NV', line: 2 },
      { id: 'ISIC_2', className: 'SCC', line: 3 },
    ]);
    expect(csv.unkRows).toBe(0);
  });

  it('accepts 0/1 as well as 0.0/1.0, and columns in any order', async () => {
    const text = `image,UNK,SCC,VASC,DF,BKL,AK,BCC,NV,MEL\nA,0,0,0,0,0,1,0,0,0\n`;
    const csv = await parseLabelsCsv(`${HEADER}\n${row('X', 'DF', '1', '0')}\n`, 'f.csv');
    expect(csv.rows[0]).toMatchObject({ id: 'X', className: 'DF' });
    expect((await parseLabelsCsv(text, 'f.csv')).rows[0]).toMatchObject({ id: 'A', className: 'AK' });
  });

  it('skips UNK rows with a count, and rejects them under strict', async () => {
    const text = `${HEADER}\n${row('A', 'MEL')}\n${row('B', 'UNK')}\n`;
    const csv = await parseLabelsCsv(text, 'f.csv');
    expect(csv.rows.map((r) => r.id)).toEqual(['A']);
    expect(csv.unkRows).toBe(1);
    const e = await parseError(text, true);
    expect(e.message).toBe('labels.csv:3: B is labelled UNK (unknown), which has no class to train on');
    expect(e).toMatchObject({ file: 'labels.csv', line: 3 });
  });

  it('rejects a row with two classes, naming file, line and classes', async () => {
    const twoClasses = 'ISIC_9,1.0,1.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0';
    const e = await parseError(`${HEADER}\n${row('A', 'MEL')}\n${twoClasses}\n`);
    expect(e.message).toBe('labels.csv:3: ISIC_9: 2 classes are set (MEL, NV)');
    expect(e.hint).toContain('exactly one class');
  });

  it('rejects a row with no class', async () => {
    const e = await parseError(`${HEADER}\nA,0,0,0,0,0,0,0,0,0\n`);
    expect(e.message).toBe('labels.csv:2: A: no class is set');
  });

  it('rejects an unknown column', async () => {
    const e = await parseError(`${HEADER},AGE\n${row('A', 'MEL')},45\n`);
    expect(e.message).toBe('labels.csv:1: unknown column "AGE"');
    expect(e.line).toBe(1);
  });

  it('rejects missing class columns (UNK may be absent)', async () => {
    const e = await parseError('image,MEL,NV,BCC,AK,BKL,DF,VASC\nA,1,0,0,0,0,0,0\n');
    expect(e.message).toBe('labels.csv:1: missing column SCC');
    const noUnk = await parseLabelsCsv('image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC\nA,0,0,0,0,0,0,0,1\n', 'f.csv');
    expect(noUnk.rows[0]?.className).toBe('SCC');
  });

  it('rejects a duplicate id, naming both lines', async () => {
    const e = await parseError(`${HEADER}\n${row('A', 'MEL')}\n${row('B', 'NV')}\n${row('A', 'NV')}\n`);
    expect(e.message).toBe('labels.csv:4: duplicate image id A (first on line 2)');
  });

  it('rejects ids that are paths, never following them', async () => {
    const e = await parseError(`${HEADER}\n${row('../x', 'MEL')}\n`);
    expect(e.message).toBe(
      'labels.csv:2: image id "../x" is a path, not a plain file name (paths are never followed)',
    );
    const abs = await parseError(`${HEADER}\n${row('/etc/passwd', 'MEL')}\n`);
    expect(abs.message).toContain('image id "/etc/passwd" is a path');
    const empty = await parseError(`${HEADER}\n${row('', 'MEL')}\n`);
    expect(empty.message).toBe('labels.csv:2: the image id is empty');
  });

  it('rejects values other than 0 and 1, and rows of the wrong width', async () => {
    expect((await parseError(`${HEADER}\nA,0.5,0.5,0,0,0,0,0,0,0\n`)).message).toBe(
      'labels.csv:2: A: value "0.5" in column MEL is not 0 or 1',
    );
    expect((await parseError(`${HEADER}\nA,1,0\n`)).message).toBe(
      'labels.csv:2: the row has 3 fields, the header has 10',
    );
  });

  it('rejects an empty file and names a missing one', async () => {
    expect((await parseError('')).message).toBe('labels.csv:1: the labels file is empty');
    await expect(readLabelsCsv(join(dir, 'nope.csv'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('round-trips through writeLabelsCsv in the official format', async () => {
    const rows = [
      { id: 'b', className: 'VASC' },
      { id: 'a', className: 'MEL' },
    ];
    const path = join(dir, 'out', 'labels.csv');
    await fs.mkdir(join(dir, 'out'));
    await writeLabelsCsv(path, rows);
    const text = await fs.readFile(path, 'utf8');
    expect(text).toBe(`${HEADER}\n${row('b', 'VASC')}\n${row('a', 'MEL')}\n`);
    expect((await readLabelsCsv(path)).rows.map(({ id, className }) => ({ id, className }))).toEqual(rows);
    await expect(formatLabelsCsv([{ id: 'x', className: 'FOO' }])).rejects.toThrow(
      '"FOO" is not an ISIC 2019 class',
    );
  });
});
