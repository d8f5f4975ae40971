import { ISIC2019, parseCsvRecords, SkinganError, writeFileAtomic } from '@skingan/core';
import { writeToString } from 'fast-csv';
import { checkId } from '../ids.js';
import { dataRows, readCsvText } from './csv-file.js';

/** The ISIC 2019 "unknown" column: rows set there have no usable class. */
export const UNK = 'UNK';

/** The columns of `ISIC_2019_Training_GroundTruth.csv`, in order. */
export const LABEL_COLUMNS: readonly string[] = Object.freeze(['image', ...ISIC2019.classes, UNK]);

/** One labelled image of a ground-truth CSV. */
export interface LabelRow {
  id: string;
  /** An ISIC 2019 class name (never UNK: those rows are counted, not returned). */
  className: string;
  /** 1-based line in the CSV (the header is line 1). */
  line: number;
}

export interface LabelsCsv {
  file: string;
  rows: LabelRow[];
  /** Rows labelled UNK, skipped (an error under `strict`). */
  unkRows: number;
  /** The ids of those rows (their images have a row, just no class). */
  unkIds: string[];
}

export interface ReadLabelsOptions {
  /** Treat UNK rows as errors instead of skipping them. Default false. */
  strict?: boolean;
}

/**
 * Reads and validates an ISIC 2019 ground-truth CSV (`image,MEL,…,SCC,UNK`, one-hot `0/1` or
 * `0.0/1.0`, LF or CRLF). Unknown or missing columns, rows with not exactly one class, duplicate ids
 * and ids that are not plain file names throw a SkinganError naming the file and line.
 */
export async function readLabelsCsv(path: string, options: ReadLabelsOptions = {}): Promise<LabelsCsv> {
  const text = await readCsvText(
    path,
    'labels file',
    'a dataset folder needs labels.csv (ISIC 2019 ground-truth format) next to images/',
  );
  return parseLabelsCsv(text, path, options);
}

/** `readLabelsCsv` on text already in memory; `file` is only used in messages. */
export async function parseLabelsCsv(
  text: string,
  file: string,
  options: ReadLabelsOptions = {},
): Promise<LabelsCsv> {
  const records = await parseCsvRecords(text, file);
  const header = records[0]?.map((h) => h.trim());
  if (!header || header.every((h) => h === '')) {
    throw new SkinganError('the labels file is empty', {
      file,
      line: 1,
      hint: `expected the header ${LABEL_COLUMNS.join(',')}`,
    });
  }
  const columns = readHeader(header, file);
  const rows: LabelRow[] = [];
  const firstLine = new Map<string, number>();
  let unkRows = 0;
  const unkIds: string[] = [];
  for (const { fields, line } of dataRows(records, file)) {
    const id = fields[columns.image]!.trim();
    checkId(id, { file, line });
    const set: string[] = [];
    for (const [name, col] of columns.classes) {
      const raw = fields[col]!.trim();
      if (!/^[01](\.0*)?$/.test(raw)) {
        throw new SkinganError(`${id}: value "${raw}" in column ${name} is not 0 or 1`, {
          file,
          line,
          hint: 'the ground truth is one-hot: exactly one class column is 1 (or 1.0), the others 0',
        });
      }
      if (raw.startsWith('1')) set.push(name);
    }
    if (set.length !== 1) {
      throw new SkinganError(
        set.length === 0
          ? `${id}: no class is set`
          : `${id}: ${set.length} classes are set (${set.join(', ')})`,
        { file, line, hint: 'each row needs exactly one class column set to 1' },
      );
    }
    const first = firstLine.get(id);
    if (first !== undefined) {
      throw new SkinganError(`duplicate image id ${id} (first on line ${first})`, {
        file,
        line,
        hint: 'each image may appear once; remove or rename one of the rows',
      });
    }
    firstLine.set(id, line);
    const className = set[0]!;
    if (className === UNK) {
      if (options.strict) {
        throw new SkinganError(`${id} is labelled UNK (unknown), which has no class to train on`, {
          file,
          line,
          hint: 'remove the row, or run without --strict to skip UNK rows',
        });
      }
      unkRows++;
      unkIds.push(id);
      continue;
    }
    rows.push({ id, className, line });
  }
  return { file, rows, unkRows, unkIds };
}

interface HeaderColumns {
  image: number;
  /** [class name, column index] for every class column present, UNK included. */
  classes: [string, number][];
}

function readHeader(header: string[], file: string): HeaderColumns {
  const seen = new Set<string>();
  const classes: [string, number][] = [];
  let image = -1;
  header.forEach((raw, i) => {
    const name = raw.toLowerCase() === 'image' ? 'image' : raw.toUpperCase();
    if (seen.has(name)) throw new SkinganError(`column "${raw}" appears twice`, { file, line: 1 });
    seen.add(name);
    if (name === 'image') image = i;
    else if (LABEL_COLUMNS.includes(name)) classes.push([name, i]);
    else {
      throw new SkinganError(`unknown column "${raw}"`, {
        file,
        line: 1,
        hint: `the ISIC 2019 ground-truth columns are ${LABEL_COLUMNS.join(',')}`,
      });
    }
  });
  // UNK may be absent (nothing is lost), the image column and every class may not.
  const missing = LABEL_COLUMNS.filter((c) => c !== UNK && !seen.has(c));
  if (missing.length) {
    throw new SkinganError(`missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, {
      file,
      line: 1,
      hint: `the ISIC 2019 ground-truth columns are ${LABEL_COLUMNS.join(',')}`,
    });
  }
  return { image, classes };
}

/** Labels CSV text in the official format (`0.0`/`1.0`, LF line ends). */
export async function formatLabelsCsv(rows: readonly { id: string; className: string }[]): Promise<string> {
  const body = rows.map(({ id, className }) => {
    checkId(id);
    if (!LABEL_COLUMNS.includes(className) || className === 'image') {
      throw new SkinganError(`${id}: "${className}" is not an ISIC 2019 class`, { code: 'UNKNOWN_CLASS' });
    }
    return [id, ...LABEL_COLUMNS.slice(1).map((c) => (c === className ? '1.0' : '0.0'))];
  });
  const text = await writeToString([[...LABEL_COLUMNS], ...body], { rowDelimiter: '\n' });
  return `${text}\n`;
}

/** Writes a labels CSV atomically (readers see the old file or the new one, never half of one). */
export async function writeLabelsCsv(
  path: string,
  rows: readonly { id: string; className: string }[],
): Promise<void> {
  await writeFileAtomic(path, await formatLabelsCsv(rows));
}
