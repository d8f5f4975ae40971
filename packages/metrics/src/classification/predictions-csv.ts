import { SkinganError } from '@skingan/core';

/** A probability table as the classifier's `predict` writes it: `image,<class>,<class>,…`. */
export interface PredictionsTable {
  classes: string[];
  ids: string[];
  probs: Float64Array[];
}

/**
 * Parses a predictions CSV: a header `image` followed by one column per class name, then one row
 * per image with its class probabilities. Errors name the file and the 1-based line. Fields are
 * plain (no quoting), as skingan writes them; blank lines are ignored.
 */
export function parsePredictionsCsv(text: string, file = 'predictions.csv'): PredictionsTable {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const headerLine = lines.findIndex((l) => l.trim() !== '');
  if (headerLine < 0) throw new SkinganError('empty predictions file', { file });
  const header = split(lines[headerLine]!);
  if (header[0]?.toLowerCase() !== 'image' || header.length < 3) {
    throw new SkinganError(`the header must be "image,<class>,<class>,…", got "${lines[headerLine]}"`, {
      file,
      line: headerLine + 1,
      hint: 'write it with `skingan classifier predict`, or one probability column per class name',
    });
  }
  const classes = header.slice(1);
  const dup = classes.find((c, i) => classes.indexOf(c) !== i);
  if (dup) throw new SkinganError(`class column "${dup}" appears twice`, { file, line: headerLine + 1 });
  const ids: string[] = [];
  const probs: Float64Array[] = [];
  const seen = new Map<string, number>();
  for (let i = headerLine + 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const fields = split(raw);
    const line = i + 1;
    if (fields.length !== header.length) {
      throw new SkinganError(`${fields.length} fields, the header has ${header.length}`, { file, line });
    }
    const id = fields[0]!;
    if (id === '') throw new SkinganError('empty image id', { file, line });
    const prev = seen.get(id);
    if (prev !== undefined)
      throw new SkinganError(`image ${id} is listed twice (also on line ${prev})`, { file, line });
    seen.set(id, line);
    const row = new Float64Array(classes.length);
    for (let c = 0; c < classes.length; c++) {
      const v = Number(fields[c + 1]);
      if (fields[c + 1] === '' || !Number.isFinite(v)) {
        throw new SkinganError(`image ${id}: "${fields[c + 1]}" in column ${classes[c]} is not a number`, {
          file,
          line,
        });
      }
      row[c] = v;
    }
    ids.push(id);
    probs.push(row);
  }
  if (ids.length === 0) throw new SkinganError('no prediction rows', { file });
  return { classes, ids, probs };
}

function split(line: string): string[] {
  return line.split(',').map((f) => f.trim());
}
