import { promises as fs } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import {
  classIndex,
  ISIC2019,
  pathExists,
  Rng,
  replaceDirAtomic,
  type Sample,
  SkinganError,
} from '@skingan/core';
import { loadDataset } from '@skingan/data';
import sharp from 'sharp';
import { IMAGES_DIR, type StudyImage, StudyStore } from './store/store.js';
import { newImageId } from './tokens.js';

export interface SyntheticSource {
  /** Generator name as reports show it (e.g. "acgan", "cyclegan"). */
  name: string;
  /** Dataset folder (labels.csv + images/). */
  dir: string;
}

export interface CreateStudyOptions {
  /** Real dataset folder (labels.csv + images/, or the ISIC 2019 layout). */
  real: string;
  synthetic: readonly SyntheticSource[];
  /** Real images per class; the same number of synthetic ones, split evenly across generators. */
  perClass: number;
  out: string;
  /** Default 0: the same inputs and seed draw the same images (the opaque names are random). */
  seed?: number;
  /** Classes to draw; default: every class that some generator produced. */
  classes?: readonly string[];
  /** Side of the square study images; default: the smallest side among the drawn images. */
  size?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface CreateStudyResult {
  dir: string;
  images: number;
  imageSize: number;
  /** Per class: real count and synthetic count per generator. */
  perClass: Record<string, { real: number; synthetic: Record<string, number> }>;
}

/** A drawn image: its sample and its key, before it gets its opaque id. */
type Drawn = Omit<StudyImage, 'id' | 'origin'> & { sample: Sample };

/**
 * Draws a blinded, seeded, class-stratified mix of real and synthetic images and writes a study
 * folder: `images/<random id>.png` (every image cropped to the same square, re-encoded, no metadata,
 * so neither name, size, format nor EXIF tells the source) and `study.sqlite` holding the key. The
 * folder is built aside and renamed into place, so a failure leaves nothing half-written.
 */
export async function createStudy(options: CreateStudyOptions): Promise<CreateStudyResult> {
  const { perClass } = options;
  if (!Number.isInteger(perClass) || perClass < 1) {
    throw new SkinganError(`--per-class must be a positive integer, got ${perClass}`, { code: 'USAGE' });
  }
  if (options.synthetic.length === 0) {
    throw new SkinganError('at least one synthetic dataset is needed', {
      code: 'USAGE',
      hint: 'pass --synthetic DIR (or NAME=DIR) once per generator',
    });
  }
  const names = options.synthetic.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) {
    throw new SkinganError(`two synthetic sets are named "${dup}"`, {
      code: 'USAGE',
      hint: 'name them apart with --synthetic NAME=DIR',
    });
  }
  const out = resolve(options.out);
  if ((await pathExists(out)) && (await fs.readdir(out)).length > 0) {
    throw new SkinganError('the study folder exists and is not empty', {
      code: 'USAGE',
      file: out,
      hint: 'choose a new --out folder; a study is never overwritten (it holds the raters’ answers)',
    });
  }
  const seed = options.seed ?? 0;
  const rng = new Rng(`turing:${seed}`);
  const real = byClass((await loadDataset(options.real)).samples);
  const synthetic = await Promise.all(
    options.synthetic.map(async (s) => ({
      name: s.name,
      byClass: byClass((await loadDataset(s.dir)).samples),
    })),
  );
  // Default: every class some generator produced (real images of other classes have no counterpart).
  const classIds = options.classes
    ? options.classes.map((c) => classIndex(ISIC2019, c))
    : ISIC2019.classes
        .map((_, i) => i)
        .filter((c) => synthetic.some((s) => (s.byClass.get(c)?.length ?? 0) > 0));

  const drawn: Drawn[] = [];
  const summary: CreateStudyResult['perClass'] = {};
  const short: string[] = [];
  for (const c of classIds) {
    const className = ISIC2019.classes[c]!;
    const take = (pool: readonly Sample[] | undefined, n: number, what: string) => {
      const have = pool?.length ?? 0;
      if (have < n) short.push(`${className}: ${what} has ${have}, ${n} needed`);
      return rng.shuffle(pool ?? []).slice(0, n);
    };
    const realPick = take(real.get(c), perClass, options.real);
    summary[className] = { real: realPick.length, synthetic: {} };
    for (const s of realPick) drawn.push({ sample: s, source: 'real', generator: null, className });
    // Synthetic: perClass in all, split as evenly as possible; which generators get the remainder is drawn.
    const gens = rng.shuffle(synthetic);
    gens.forEach((g, k) => {
      const n = Math.floor(perClass / gens.length) + (k < perClass % gens.length ? 1 : 0);
      const pick = take(g.byClass.get(c), n, `synthetic set "${g.name}"`);
      summary[className]!.synthetic[g.name] = pick.length;
      for (const s of pick) drawn.push({ sample: s, source: 'synthetic', generator: g.name, className });
    });
  }
  if (short.length) {
    throw new SkinganError(
      `not enough images to draw ${perClass} per class and source:\n  ${short.join('\n  ')}`,
      {
        code: 'USAGE',
        hint: 'lower --per-class, or choose the classes with --classes',
      },
    );
  }

  const imageSize = options.size ?? (await smallestSide(drawn.map((d) => d.sample.path)));
  if (!Number.isInteger(imageSize) || imageSize < 16 || imageSize > 4096) {
    throw new SkinganError(`--size must be an integer in [16, 4096], got ${imageSize}`, { code: 'USAGE' });
  }
  // Files are written in a random order so no file-system order or timestamp groups the sources.
  const images: StudyImage[] = rng
    .shuffle(drawn)
    .map(({ sample, ...key }) => ({ id: newImageId(), ...key, origin: sample.path }));
  let done = 0;
  await replaceDirAtomic(out, async (tmp) => {
    await fs.mkdir(join(tmp, IMAGES_DIR));
    for (const im of images) {
      await fs.writeFile(join(tmp, IMAGES_DIR, `${im.id}.png`), await blindCopy(im.origin, imageSize));
      options.onProgress?.(++done, images.length);
    }
    const info = {
      name: basename(out),
      seed,
      imageSize,
      classes: [...ISIC2019.classes],
      createdAt: new Date().toISOString(),
    };
    StudyStore.create(tmp, info, images).close();
  });
  return { dir: out, images: images.length, imageSize, perClass: summary };
}

/**
 * The image centre-cropped to a square of `size`, resized (bicubic), as an 8-bit RGB PNG. sharp
 * writes no EXIF, ICC or text chunks unless asked, so the file carries pixels only.
 */
export async function blindCopy(path: string, size: number): Promise<Buffer> {
  try {
    return await sharp(path)
      .rotate()
      .resize(size, size, { fit: 'cover', kernel: 'cubic' })
      .removeAlpha()
      .toColourspace('srgb')
      .png({ compressionLevel: 9 })
      .toBuffer();
  } catch (e) {
    throw new SkinganError(`cannot read image: ${(e as Error).message}`, { file: path, cause: e });
  }
}

async function smallestSide(paths: readonly string[]): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (const p of paths) {
    const m = await sharp(p).metadata();
    min = Math.min(min, m.width ?? min, m.height ?? min);
  }
  return min;
}

function byClass(samples: readonly Sample[]): Map<number, Sample[]> {
  const m = new Map<number, Sample[]>();
  for (const s of samples) {
    const list = m.get(s.label) ?? [];
    list.push(s);
    m.set(s.label, list);
  }
  return m;
}
