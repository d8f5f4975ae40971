import { promises as fs } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { type Sample, SkinganError, writeJsonAtomic } from '@skingan/core';
import sharp from 'sharp';
import { writeLabelsCsv } from '../csv/labels-csv.js';
import { loadDataset } from '../dataset/load-dataset.js';
import { checkImageSize, decodeError, resizeCropPipeline } from '../image/decode.js';
import { type Problem, transparencyProblem } from '../problems.js';
import { removeStaleTemps, writeFileReplace } from '../util/files.js';
import { mapPool } from '../util/pool.js';

export interface PrepareProgress {
  /** Images handled so far (written, already there, or failed). */
  done: number;
  total: number;
  written: number;
  /** Already prepared by an earlier (killed) run and left as they were. */
  reused: number;
  failed: number;
}

export interface PrepareOptions {
  /** Output side in pixels (short side resized, center crop). */
  size: number;
  /** Images in flight at once; default the number of CPUs. */
  concurrency?: number;
  /** Output format; default png (lossless, so training sees exactly these pixels). */
  format?: 'png' | 'jpg';
  /** Only these classes. */
  classes?: readonly string[];
  /** Fail on the first problem (dataset or image) instead of skipping it. */
  strict?: boolean;
  onProgress?: (p: PrepareProgress) => void;
}

export interface PrepareResult extends PrepareProgress {
  out: string;
  /** Images that could not be decoded (skipped) and dataset problems. */
  problems: Problem[];
}

/**
 * Converts a dataset once to `size`×`size` images in a new dataset folder (`labels.csv`,
 * `images/<id>.png`, `dataset.json`), so training never decodes full-resolution JPEGs again. Runs
 * `concurrency` images at once on sharp's threads. Resumable: each image is written under a temp name
 * and renamed, and images already in `out` are kept, so a killed run picks up where it stopped.
 * Undecodable images are reported and left out of `labels.csv` (thrown under `strict`).
 */
export async function prepareDataset(
  src: string | readonly string[],
  out: string,
  options: PrepareOptions,
): Promise<PrepareResult> {
  const size = options.size;
  checkImageSize(size);
  const format = options.format ?? 'png';
  const outDir = resolve(out);
  const dataset = await loadDataset(src, { classes: options.classes, strict: options.strict });
  if (dataset.roots.some((r) => resolve(r.dir) === outDir)) {
    throw new SkinganError('the output folder is the input folder', { code: 'USAGE', file: outDir });
  }
  const imagesDir = join(outDir, 'images');
  await fs.mkdir(imagesDir, { recursive: true });
  await removeStaleTemps(imagesDir);
  const finished = await finishedImages(imagesDir);

  const concurrency = Math.max(1, options.concurrency ?? cpus().length);
  // sharp runs each image on one libuv thread (UV_THREADPOOL_SIZE, 4 by default) with libvips'
  // own threads per image (sharp.concurrency(), 1 on glibc). With more cores than libuv threads,
  // let libvips use the rest inside each image.
  const uvThreads = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const vipsBefore = sharp.concurrency();
  const vipsThreads = Math.max(1, Math.ceil(concurrency / Math.min(uvThreads, concurrency)));
  sharp.concurrency(vipsThreads);

  const progress: PrepareProgress = {
    done: 0,
    total: dataset.samples.length,
    written: 0,
    reused: 0,
    failed: 0,
  };
  const problems: Problem[] = [...dataset.problems];
  let transparent = 0;
  const ok = new Array<boolean>(dataset.samples.length).fill(false);
  try {
    await mapPool(dataset.samples, concurrency, async (sample, i) => {
      const name = `${sample.id}.${format}`;
      if (finished.has(name)) {
        progress.reused++;
        ok[i] = true;
      } else {
        try {
          await prepareOne(sample, join(imagesDir, name), size, format, () => transparent++);
          progress.written++;
          ok[i] = true;
        } catch (e) {
          if (options.strict || !(e instanceof SkinganError)) throw e;
          progress.failed++;
          problems.push({
            file: sample.path,
            id: sample.id,
            message: `${e.message.replace(`${sample.path}: `, '')} (skipped)`,
          });
        }
      }
      progress.done++;
      options.onProgress?.({ ...progress });
    });
  } finally {
    sharp.concurrency(vipsBefore);
  }

  if (transparent > 0) problems.push(transparencyProblem(transparent, progress.written, outDir));
  const kept = dataset.samples.filter((_, i) => ok[i]);
  await writeLabelsCsv(
    join(outDir, 'labels.csv'),
    kept.map((s) => ({ id: s.id, className: dataset.labelSpace.classes[s.label]! })),
  );
  await writeJsonAtomic(join(outDir, 'dataset.json'), {
    synthetic: dataset.roots.every((r) => r.synthetic),
    preparedFrom: dataset.roots.map((r) => r.dir),
    size,
    format,
    resize: 'short side to size (bicubic), center crop',
  });
  await copyProvenance(
    dataset.roots.map((r) => r.dir),
    outDir,
    new Set(kept.map((s) => s.id)),
  );
  return { ...progress, out: outDir, problems };
}

async function prepareOne(
  sample: Sample,
  target: string,
  size: number,
  format: 'png' | 'jpg',
  onTransparent: () => void,
): Promise<void> {
  let bytes: Buffer;
  let input: Buffer | undefined;
  try {
    input = await fs.readFile(sample.path);
    const pipeline = await resizeCropPipeline(input, size, { onTransparent });
    bytes = await (format === 'png'
      ? pipeline.png({ compressionLevel: 6 })
      : pipeline.jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    ).toBuffer();
  } catch (e) {
    throw decodeError(sample.path, e, input);
  }
  await writeFileReplace(target, bytes);
}

/** Image files a previous run finished (non-empty: a renamed file is complete). */
async function finishedImages(dir: string): Promise<Set<string>> {
  const done = new Set<string>();
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const st = await fs.stat(join(dir, entry.name));
    if (st.size > 0) done.add(entry.name);
  }
  return done;
}

/** Carries synthetic sets' provenance over, for the images that were prepared. */
async function copyProvenance(
  dirs: readonly string[],
  outDir: string,
  ids: ReadonlySet<string>,
): Promise<void> {
  const lines: string[] = [];
  for (const dir of dirs) {
    const text = await fs.readFile(join(dir, 'provenance.jsonl'), 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        if (ids.has((JSON.parse(line) as { id?: string }).id ?? '')) lines.push(line);
      } catch {
        // a torn line of a killed writer: the writer drops it too
      }
    }
  }
  if (lines.length) await writeFileReplace(join(outDir, 'provenance.jsonl'), `${lines.join('\n')}\n`);
}
