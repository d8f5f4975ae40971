import { describe, expect, it } from 'vitest';
import { parsePredictionsCsv } from './predictions-csv.js';

describe('parsePredictionsCsv', () => {
  it('reads ids, class columns and probability rows', () => {
    const t = parsePredictionsCsv('image,MEL,NV\r\nISIC_1,0.9,0.1\n\nISIC_2,0.2,0.8\n');
    expect(t.classes).toEqual(['MEL', 'NV']);
    expect(t.ids).toEqual(['ISIC_1', 'ISIC_2']);
    expect(Array.from(t.probs[1]!)).toEqual([0.2, 0.8]);
  });

  it('names the file and line of bad rows', () => {
    expect(() => parsePredictionsCsv('image,MEL,NV\nA,0.5\n', 'p.csv')).toThrow(
      'p.csv:2: 2 fields, the header has 3',
    );
    expect(() => parsePredictionsCsv('image,MEL,NV\nA,0.5,x\n', 'p.csv')).toThrow(
      'p.csv:2: image A: "x" in column NV is not a number',
    );
    expect(() => parsePredictionsCsv('image,MEL,NV\nA,1,0\nA,0,1\n', 'p.csv')).toThrow(
      'p.csv:3: image A is listed twice (also on line 2)',
    );
    expect(() => parsePredictionsCsv('id,MEL,NV\n', 'p.csv')).toThrow(/p.csv:1: the header must be/);
    expect(() => parsePredictionsCsv('image,MEL,MEL\nA,1,0\n', 'p.csv')).toThrow(/"MEL" appears twice/);
  });
});
