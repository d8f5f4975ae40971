import { promises as fs } from 'node:fs';
import { cpus } from 'node:os';
import { extname, join, resolve } from 'node:path';
import {
  appendFileNow,
  type FolderLock,
  ISIC2019,
  type LabelSpace,
  lockFolder,
  pathExists,
  removeStaleTemps,
  SkinganError,
  writeFileAtomic,
  writeJsonAtomic,
} from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { readLabelsCsv, writeLabelsCsv } from '../csv/labels-csv.js';
import { IMAGE_EXTENSIONS } from '../dataset/load-dataset.js';
import { readProvenance } from '../dataset/provenance.js';
import { checkId } from '../ids.js';
import { floatToBytes, type RgbImage, rgbToJpeg, rgbToPng } from '../image/encode.js';
import { mapPool } from '../util/pool.js';

export interface DatasetWriterOptions {
  /** The space `add`'s labels index; its classes must be ISIC 2019 class names. */
  labelSpace: LabelSpace;
  /** Continue a dataset this writer (or a killed run of it) started. Default false: refuse to touch one. */
  resume?: boolean;
  /** The flag that sets `resume` in the caller's command, named in the refusal; none: only another folder helps. */
  resumeFlag?: string;
  /** Image file format; default png (lossless). */
  format?: 'png' | 'jpg';
  /** Prefix of generated ids (`<prefix>_<CLASS>_<n>`); default 'syn'. */
  idPrefix?: string;
  /** Written to `dataset.json`; `synthetic` defaults to true. */
  meta?: Record<string, unknown>;
  /** Named to another process that finds the folder locked, e.g. "acgan sample". */
  command?: string;
}

interface Row {
  id: string;
  className: string;
}

/**
 * Writes generated images as a dataset any command can read: `images/<id>.png`, `labels.csv`
 * (ISIC 2019 format) and `provenance.jsonl` (one JSON object per image: id, class and whatever the
 * generator passes: run, seed, source image...). `labels.csv` is the commit record: it is rewritten
 * atomically after each `add`'s images are in place, so a killed run loses at most the batch in
 * flight, and `open(dir, { resume: true })` drops that batch's leftovers and carries on. The folder
 * is locked (core's `lockFolder`) from `open` to `close`: a second process cannot write into it.
 */
export class DatasetWriter {
  private pending: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly labelSpace: LabelSpace,
    private readonly rows: Row[],
    private readonly format: 'png' | 'jpg',
    private readonly idPrefix: string,
    private nextNumber: number,
    private readonly lock: FolderLock,
  ) {}

  static async open(dir: string, options: DatasetWriterOptions): Promise<DatasetWriter> {
    const root = resolve(dir);
    const space = options.labelSpace;
    for (const c of space.classes) {
      if (!ISIC2019.classes.includes(c)) {
        throw new SkinganError(`class "${c}" has no column in the ISIC 2019 labels format`, {
          code: 'UNKNOWN_CLASS',
          hint: `use classes among ${ISIC2019.classes.join(', ')}`,
        });
      }
    }
    const lock = await lockFolder(root, { command: options.command ?? 'dataset writer' });
    try {
      return await DatasetWriter.openLocked(root, space, lock, options);
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  private static async openLocked(
    root: string,
    space: LabelSpace,
    lock: FolderLock,
    options: DatasetWriterOptions,
  ): Promise<DatasetWriter> {
    const labelsFile = join(root, 'labels.csv');
    const imagesDir = join(root, 'images');
    const exists = await pathExists(labelsFile);
    if (exists && !options.resume) {
      throw new SkinganError('this folder already holds a dataset', {
        file: root,
        hint: options.resumeFlag
          ? `pass ${options.resumeFlag} to add to it, or choose another output folder`
          : 'choose another output folder, or delete this one to write it anew',
      });
    }
    await fs.mkdir(imagesDir, { recursive: true });
    const rows: Row[] = exists
      ? (await readLabelsCsv(labelsFile)).rows.map(({ id, className }) => ({ id, className }))
      : [];
    if (exists) await dropUncommitted(root, rows);
    else await writeLabelsCsv(labelsFile, []);
    await writeJsonAtomic(join(root, 'dataset.json'), {
      synthetic: true,
      classes: space.classes,
      ...options.meta,
    });
    const prefix = options.idPrefix ?? 'syn';
    checkId(`${prefix}_X_0`);
    return new DatasetWriter(root, space, rows, options.format ?? 'png', prefix, rows.length, lock);
  }

  /** Images written so far (including those of earlier runs when resumed). */
  get size(): number {
    return this.rows.length;
  }

  /** Images written so far per class name of the label space. */
  countPerClass(): Record<string, number> {
    const counts = Object.fromEntries(this.labelSpace.classes.map((c) => [c, 0])) as Record<string, number>;
    for (const r of this.rows) if (r.className in counts) counts[r.className]!++;
    return counts;
  }

  /**
   * Writes images ([N, H, W, 3] or a list of [H, W, 3], values in [-1, 1]; not disposed; or RGB
   * bytes, which need no tfjs backend) with their labels, and optional ids and provenance records.
   * Returns the ids used. Calls are serialized.
   */
  add(
    images: tf.Tensor4D | readonly tf.Tensor3D[] | readonly RgbImage[],
    labels: readonly number[],
    ids?: readonly string[],
    provenance?: readonly object[],
  ): Promise<string[]> {
    if (this.closed)
      return Promise.reject(new SkinganError('the dataset writer is closed', { code: 'INTERNAL' }));
    const run = this.pending.then(() => this.write(images, labels, ids, provenance));
    this.pending = run.catch(() => undefined);
    return run;
  }

  /** Waits for pending writes (the dataset is complete on disk afterwards); releases the folder's lock. */
  async close(): Promise<void> {
    this.closed = true;
    try {
      await this.pending;
    } finally {
      await this.lock.release();
    }
  }

  private async write(
    ...[images, labels, ids, provenance]: Parameters<DatasetWriter['add']>
  ): Promise<string[]> {
    const rgb = toRgbList(images);
    const n = rgb.length;
    if (labels.length !== n || (ids && ids.length !== n) || (provenance && provenance.length !== n)) {
      throw misuse(
        `${n} images but ${labels.length} labels${ids ? `, ${ids.length} ids` : ''}${provenance ? `, ${provenance.length} provenance records` : ''}`,
      );
    }
    const taken = new Set(this.rows.map((r) => r.id));
    const rows: Row[] = labels.map((label, i) => {
      const className = this.labelSpace.classes[label];
      if (className === undefined || !Number.isInteger(label)) {
        throw misuse(`label ${label} is not an index of [${this.labelSpace.classes.join(', ')}]`);
      }
      const id = ids?.[i] ?? this.newId(className, taken);
      checkId(id);
      if (taken.has(id)) throw misuse(`image id ${id} is already in the dataset`, this.dir);
      taken.add(id);
      return { id, className };
    });
    const imagesDir = join(this.dir, 'images');
    await mapPool(rgb, cpus().length, async (image, i) => {
      const bytes = this.format === 'png' ? await rgbToPng(image) : await rgbToJpeg(image);
      // No fsync: images not yet in labels.csv are dropped and redone after a kill anyway.
      await writeFileAtomic(join(imagesDir, `${rows[i]!.id}.${this.format}`), bytes, { sync: false });
    });
    const lines = rows.map(
      (r, i) => `${JSON.stringify({ id: r.id, class: r.className, ...provenance?.[i] })}\n`,
    );
    appendFileNow(join(this.dir, 'provenance.jsonl'), lines.join(''));
    this.rows.push(...rows);
    await writeLabelsCsv(join(this.dir, 'labels.csv'), this.rows);
    return rows.map((r) => r.id);
  }

  private newId(className: string, taken: ReadonlySet<string>): string {
    for (;;) {
      const id = `${this.idPrefix}_${className}_${String(this.nextNumber++).padStart(6, '0')}`;
      if (!taken.has(id)) return id;
    }
  }
}

function toRgbList(images: tf.Tensor4D | readonly tf.Tensor3D[] | readonly RgbImage[]): RgbImage[] {
  // Not `instanceof tf.Tensor`: a caller's tensors may come from another copy of tfjs.
  if (!Array.isArray(images)) {
    const batch = images as tf.Tensor4D;
    const [n, height, width, c] = batch.shape;
    if (c !== 3) {
      throw misuse(`expected [N, H, W, 3] images, got [${batch.shape.join(', ')}]`);
    }
    const bytes = floatToBytes(batch.dataSync());
    const per = height * width * 3;
    return Array.from({ length: n }, (_, i) => ({
      data: bytes.subarray(i * per, (i + 1) * per),
      width,
      height,
    }));
  }
  return (images as readonly (tf.Tensor3D | RgbImage)[]).map((t) => {
    if (!('shape' in t)) {
      if (t.data.length !== t.width * t.height * 3)
        throw misuse(`${t.data.length} bytes for a ${t.width}×${t.height} RGB image`);
      return t;
    }
    const [height, width, c] = t.shape;
    if (c !== 3) throw misuse(`expected [H, W, 3] images, got [${t.shape.join(', ')}]`);
    return { data: floatToBytes(t.dataSync()), width, height };
  });
}

/** A caller's mistake in `add`. */
function misuse(message: string, file?: string): SkinganError {
  return new SkinganError(`add: ${message}`, { code: 'USAGE', file });
}

/** After a kill: removes images and provenance lines of the batch that never reached labels.csv. */
async function dropUncommitted(root: string, rows: readonly Row[]): Promise<void> {
  const committed = new Set(rows.map((r) => r.id));
  const imagesDir = join(root, 'images');
  await removeStaleTemps(imagesDir);
  for (const name of await fs.readdir(imagesDir)) {
    const ext = extname(name).toLowerCase();
    if (IMAGE_EXTENSIONS.includes(ext) && !committed.has(name.slice(0, -ext.length))) {
      await fs.rm(join(imagesDir, name), { force: true });
    }
  }
  const kept = (await readProvenance(root)).filter((p) => committed.has(p.id));
  await writeFileAtomic(join(root, 'provenance.jsonl'), kept.map((p) => `${p.line}\n`).join(''));
}
