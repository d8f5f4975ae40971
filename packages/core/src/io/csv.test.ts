import { describe, expect, it } from 'vitest';
import { isSkinganError } from '../errors.js';
import { isBlankRecord, parseCsvRecords } from './csv.js';

describe('parseCsvRecords', () => {
  it('reads quoted fields with commas, doubled quotes and line ends inside', async () => {
    const text = '"image","MEL"\r\n"a,b",0.5\n"say ""hi""","x\ny"\n';
    expect(await parseCsvRecords(text, 'f.csv')).toEqual([
      ['image', 'MEL'],
      ['a,b', '0.5'],
      ['say "hi"', 'x\ny'],
    ]);
  });

  it('drops a byte-order mark, keeps blank lines as records so lines stay numbered', async () => {
    const records = await parseCsvRecords('\uFEFFimage,NV\n\nA,1\n  \n,\n', 'f.csv');
    expect(records).toEqual([['image', 'NV'], [], ['A', '1'], [], ['', '']]);
    expect(records.map(isBlankRecord)).toEqual([false, true, false, true, false]);
  });

  it('names the file of a malformed CSV', async () => {
    const error = await parseCsvRecords('image,MEL\n"A"B,1\n', 'bad.csv').catch((e: unknown) => e);
    expect(isSkinganError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^bad\.csv: not a valid CSV file: /);
  });
});
