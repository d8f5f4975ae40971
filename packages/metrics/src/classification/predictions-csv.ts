import { isBlankRecord, parseCsvRecords, SkinganError } from '@skingan/core';

/** A probability table as the classifier's `predict` writes it: `image,<class>,<class>,…`. */
export interface PredictionsTable {
  classes: string[];
  ids: string[];
  probs: Float64Array[];
}

/**
 * Parses a predictions CSV: a header `image` followed by one column per class name, then one row
 * per image with its class probabilities. Any valid CSV is read (quoted fields such as
 * `"image","MEL"`, as spreadsheets and pandas may write them; LF or CRLF; a byte-order mark);
 * fields are trimmed and blank lines ignored. Errors name the file and the 1-based line.
 */
export async function parsePredictionsCsv(text: string, file = 'predictions.csv'): Promise<PredictionsTable> {
  const records = await parseCsvRecords(text, file);
  const headerAt = records.findIndex((r) => !isBlankRecord(r));
  if (headerAt < 0) throw new SkinganError('empty predictions file', { file });
  const header = records[headerAt]!.map((f) => f.trim());
  if (header[0]?.toLowerCase() !== 'image' || header.length < 3) {
    throw new SkinganError(`the header must be "image,<class>,<class>,…", got "${header.join(',')}"`, {
      file,
      line: headerAt + 1,
      hint: 'write it with `skingan classifier predict`, or one probability column per class name',
    });
  }
  const classes = header.slice(1);
  const dup = classes.find((c, i) => classes.indexOf(c) !== i);
  if (dup) throw new SkinganError(`class column "${dup}" appears twice`, { file, line: headerAt + 1 });
  const ids: string[] = [];
  const probs: Float64Array[] = [];
  const seen = new Map<string, number>();
  for (let r = headerAt + 1; r < records.length; r++) {
    if (isBlankRecord(records[r]!)) continue;
    const fields = records[r]!.map((f) => f.trim());
    const line = r + 1;
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
