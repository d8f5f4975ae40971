import { describe, expect, it } from 'vitest';
import { parsePredictionsCsv } from './predictions-csv.js';

describe('parsePredictionsCsv', () => {
  it('reads ids, class columns and probability rows', async () => {
    const t = await parsePredictionsCsv('image,MEL,NV\r\nISIC_1,0.9,0.1\n\nISIC_2,0.2,0.8\n');
    expect(t.classes).toEqual(['MEL', 'NV']);
    expect(t.ids).toEqual(['ISIC_1', 'ISIC_2']);
    expect(Array.from(t.probs[1]!)).toEqual([0.2, 0.8]);
  });

  it('reads a quoted header and quoted fields (as pandas and spreadsheets write them)', async () => {
    const text = '\uFEFF"image","MEL","NV"\r\n"ISIC_1","0.25",0.75\r\nISIC_2, 1 ,"0"\r\n';
    const t = await parsePredictionsCsv(text, 'p.csv');
    expect(t.classes).toEqual(['MEL', 'NV']);
    expect(t.ids).toEqual(['ISIC_1', 'ISIC_2']);
    expect(t.probs.map((row) => Array.from(row))).toEqual([
      [0.25, 0.75],
      [1, 0],
    ]);
  });

  it('names the file and line of bad rows', async () => {
    await expect(parsePredictionsCsv('image,MEL,NV\nA,0.5\n', 'p.csv')).rejects.toThrow(
      'p.csv:2: 2 fields, the header has 3',
    );
    await expect(parsePredictionsCsv('image,MEL,NV\nA,0.5,x\n', 'p.csv')).rejects.toThrow(
      'p.csv:2: image A: "x" in column NV is not a number',
    );
    await expect(parsePredictionsCsv('image,MEL,NV\n\nA,1,0\nA,0,1\n', 'p.csv')).rejects.toThrow(
      'p.csv:4: image A is listed twice (also on line 3)',
    );
    await expect(parsePredictionsCsv('id,MEL,NV\n', 'p.csv')).rejects.toThrow(/p.csv:1: the header must be/);
    await expect(parsePredictionsCsv('image,MEL,MEL\nA,1,0\n', 'p.csv')).rejects.toThrow(
      /"MEL" appears twice/,
    );
    await expect(parsePredictionsCsv('image,MEL,NV\n"A"x,1,0\n', 'p.csv')).rejects.toThrow(
      /^p\.csv: not a valid CSV file: /,
    );
  });
});
