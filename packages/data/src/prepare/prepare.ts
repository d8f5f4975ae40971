import { promises as fs } from 'node:fs';
import { cpus } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { removeStaleTemps, type Sample, SkinganError, writeFileAtomic, writeJsonAtomic } from '@skingan/core';
import sharp from 'sharp';
import { writeLabelsCsv } from '../csv/labels-csv.js';
import { loadDataset } from '../dataset/load-dataset.js';
import { readProvenance } from '../dataset/provenance.js';
import { checkImageSize, decodeError, resizeCropPipeline } from '../image/decode.js';
import { type Problem, skippedImage, transparencyProblem } from '../problems.js';
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
  /**
   * `out` holds images prepared with other settings (size, format, crop): remove them and prepare
   * every image again. Without it such a folder is refused.
   */
  rebuild?: boolean;
  onProgress?: (p: PrepareProgress) => void;
}

export interface PrepareResult extends PrepareProgress {
  out: string;
  /** Images that could not be decoded (skipped) and dataset problems. */
  problems: Problem[];
}

/** How the images of a prepared folder were made; `dataset.json` records it before the first image. */
interface PrepareSettings {
  size: number;
  format: 'png' | 'jpg';
  resize: string;
}

const RESIZE = 'short side to size (bicubic), center crop';

/**
 * Converts a dataset once to `size`×`size` images in a new dataset folder (`labels.csv`,
 * `images/<id>.png`, `dataset.json`), so training never decodes full-resolution JPEGs again. Runs
 * `concurrency` images at once on sharp's threads. Resumable: each image is written under a temp name
 * and renamed, and images already in `out` are kept when they were made with the same settings (recorded in
 * `dataset.json`, and each one's header checked), so a killed run picks up where it stopped. A
 * folder prepared with other settings is refused unless `rebuild`. One image file per id.
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
  const settings: PrepareSettings = { size, format, resize: RESIZE };
  await checkSettings(outDir, settings, options.rebuild ?? false);
  await fs.mkdir(imagesDir, { recursive: true });
  for (const d of [outDir, imagesDir]) await removeStaleTemps(d);
  const meta = {
    synthetic: dataset.roots.every((r) => r.synthetic),
    preparedFrom: dataset.roots.map((r) => r.dir),
    ...settings,
  };
  // Recorded before the first image, so a rerun knows how a killed run's images were made (a
  // finished folder of the same settings keeps its record: a killed rerun leaves it as it was).
  if (!(await recorded(outDir, meta))) {
    await writeJsonAtomic(join(outDir, 'dataset.json'), { ...meta, complete: false });
  }
  const finished = await finishedImages(imagesDir, settings, options.rebuild ?? false);

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
          problems.push(skippedImage(sample, e));
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
  await copyProvenance(
    dataset.roots.map((r) => r.dir),
    outDir,
    new Set(kept.map((s) => s.id)),
  );
  await writeJsonAtomic(join(outDir, 'dataset.json'), meta);
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
  // No fsync: a kill loses at most images in flight, which a rerun redoes.
  await writeFileAtomic(target, bytes, { sync: false });
}

/** Whether `dataset.json` already holds exactly `meta` (a finished folder of these settings). */
async function recorded(outDir: string, meta: object): Promise<boolean> {
  const text = await fs.readFile(join(outDir, 'dataset.json'), 'utf8').catch(() => '');
  return text === `${JSON.stringify(meta, null, 2)}\n`;
}

/** Refuses (or, with `rebuild`, allows) a folder whose recorded settings differ from these. */
async function checkSettings(outDir: string, want: PrepareSettings, rebuild: boolean): Promise<void> {
  const file = join(outDir, 'dataset.json');
  let had: Partial<PrepareSettings>;
  try {
    had = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<PrepareSettings>;
  } catch {
    return; // nothing recorded: each image's header decides below
  }
  const differs = (['size', 'format', 'resize'] as const).filter(
    (k) => had[k] !== undefined && had[k] !== want[k],
  );
  if (!differs.length || rebuild) return;
  const describe = (s: Partial<PrepareSettings>) => `${s.size}×${s.size} ${s.format}, ${s.resize}`;
  throw new SkinganError(
    `holds images prepared as ${describe({ ...want, ...had })}; this run asks for ${describe(want)}`,
    {
      code: 'USAGE',
      file: outDir,
      hint: 'choose another --out, or pass --force (option `rebuild`) to delete those images and prepare them again',
    },
  );
}

/**
 * Image files a previous run finished with these settings: in the requested format and of the
 * requested size (read from the header; a renamed file is complete). Other images in the folder
 * are removed, so an id never has two files; under `rebuild` every image goes.
 */
async function finishedImages(dir: string, want: PrepareSettings, rebuild: boolean): Promise<Set<string>> {
  const done = new Set<string>();
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (!rebuild && extname(entry.name) === `.${want.format}` && (await hasSize(path, want.size))) {
      done.add(entry.name);
    } else {
      await fs.rm(path, { force: true });
    }
  }
  return done;
}

async function hasSize(path: string, size: number): Promise<boolean> {
  try {
    const m = await sharp(path).metadata();
    return m.width === size && m.height === size;
  } catch {
    return false; // empty or torn: prepare it again
  }
}

/** Carries synthetic sets' provenance over, for the images that were prepared. */
async function copyProvenance(
  dirs: readonly string[],
  outDir: string,
  ids: ReadonlySet<string>,
): Promise<void> {
  const lines: string[] = [];
  for (const dir of dirs) {
    for (const p of await readProvenance(dir)) if (ids.has(p.id)) lines.push(p.line);
  }
  if (lines.length) await writeFileAtomic(join(outDir, 'provenance.jsonl'), `${lines.join('\n')}\n`);
}
