import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  classIndex,
  ISIC2019,
  Rng,
  replaceDirAtomic,
  SkinganError,
  writeFileAtomic,
  writeJsonAtomic,
} from '@skingan/core';
import { writeLabelsCsv } from '../csv/labels-csv.js';
import { rgbToPng } from '../image/encode.js';
import { mapPool } from '../util/pool.js';
import { designLesion } from './lesions.js';
import { renderLesion } from './render.js';

/** `dataset.json` `kind` of a demo set, so regenerating may replace it but nothing else. */
export const DEMO_KIND = 'skingan-demo-set';

export interface DemoSetOptions {
  /** Images per class; default 40. */
  perClass?: number;
  /** Image side; default 64. */
  size?: number;
  /** Default 0. The same options give byte-identical folders. */
  seed?: number;
  /** ISIC 2019 classes to draw, in this order; default all 8. A class's images do not depend on the others. */
  classes?: readonly string[];
  onProgress?: (done: number, total: number) => void;
}

export interface DemoSetResult {
  dir: string;
  total: number;
  perClass: Record<string, number>;
}

/**
 * Writes the built-in SYNTHETIC demo set: deterministic drawings of "lesion-like" blobs for the
 * ISIC 2019 classes, all 8 or `classes` (class-dependent size, shape, colours and texture on varied
 * skin tones, with hairs and dermatoscope rims as class-independent clutter), so `skingan demo` runs without a
 * download. They are not medical images. The folder says so in README.md and in dataset.json
 * (`"synthetic": true`), and is a normal dataset folder otherwise. An existing demo set in `dir` is
 * replaced atomically; any other non-empty folder is refused.
 */
export async function generateDemoSet(dir: string, options: DemoSetOptions = {}): Promise<DemoSetResult> {
  const perClass = options.perClass ?? 40;
  const size = options.size ?? 64;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(perClass) || perClass < 1) {
    throw new SkinganError(`images per class must be a positive integer, got ${perClass}`, { code: 'USAGE' });
  }
  if (!Number.isInteger(size) || size < 16 || size > 1024) {
    throw new SkinganError(`demo image size must be an integer in [16, 1024], got ${size}`, {
      code: 'USAGE',
    });
  }
  const classes = (options.classes ?? ISIC2019.classes).map(
    (c) => ISIC2019.classes[classIndex(ISIC2019, c)]!,
  );
  if (classes.length === 0 || new Set(classes).size !== classes.length) {
    throw new SkinganError(
      `demo classes must be distinct and at least one, got ${classes.join(',') || 'none'}`,
      {
        code: 'USAGE',
      },
    );
  }
  const root = resolve(dir);
  await refuseForeignFolder(root);

  const jobs = classes.flatMap((className) => Array.from({ length: perClass }, (_, i) => ({ className, i })));
  const id = (c: string, i: number) => `demo_${c}_${String(i).padStart(4, '0')}`;
  let done = 0;
  await replaceDirAtomic(root, async (tmp) => {
    await fs.mkdir(join(tmp, 'images'));
    await mapPool(jobs, 4, async ({ className, i }) => {
      const rng = new Rng(`demo:${seed}:${className}:${i}`);
      const pixels = renderLesion(designLesion(className, rng), size, rng);
      await fs.writeFile(
        join(tmp, 'images', `${id(className, i)}.png`),
        await rgbToPng({ data: pixels, width: size, height: size }, 9),
      );
      options.onProgress?.(++done, jobs.length);
    });
    await writeLabelsCsv(
      join(tmp, 'labels.csv'),
      jobs.map(({ className, i }) => ({ id: id(className, i), className })),
    );
    await fs.writeFile(
      join(tmp, 'provenance.jsonl'),
      jobs
        .map(
          ({ className, i }) =>
            `${JSON.stringify({ id: id(className, i), class: className, generator: DEMO_KIND, seed, index: i })}\n`,
        )
        .join(''),
    );
    await writeJsonAtomic(join(tmp, 'dataset.json'), {
      synthetic: true,
      kind: DEMO_KIND,
      description: 'SYNTHETIC drawings of lesion-like shapes for demos and tests; not medical images',
      classes,
      perClass,
      size,
      seed,
    });
    await writeFileAtomic(join(tmp, 'README.md'), readme(perClass, size, seed, classes));
  });
  return { dir: root, total: jobs.length, perClass: Object.fromEntries(classes.map((c) => [c, perClass])) };
}

async function refuseForeignFolder(root: string): Promise<void> {
  const entries = await fs.readdir(root).catch(() => [] as string[]);
  if (entries.length === 0) return;
  const meta = await fs
    .readFile(join(root, 'dataset.json'), 'utf8')
    .then((t) => JSON.parse(t) as { kind?: string })
    .catch(() => undefined);
  if (meta?.kind !== DEMO_KIND) {
    throw new SkinganError('the folder is not empty and is not a demo set', {
      code: 'USAGE',
      file: root,
      hint: 'choose an empty or new folder (only an earlier demo set is replaced)',
    });
  }
}

function readme(perClass: number, size: number, seed: number, classes: readonly string[]): string {
  return `# SYNTHETIC demo set — not real skin lesions

Every image in this folder was drawn by a program (\`skingan data demo-set\`, seed ${seed}): coloured
blobs on skin-toned backgrounds, ${perClass} per ISIC 2019 class (${classes.join(', ')}), ${size}×${size} pixels. The classes differ
in size, border, colours and texture in ways loosely inspired by dermoscopy (e.g. "MEL" blobs are
large, irregular and multi-coloured; "DF" blobs are small with a white centre), so that the skingan
pipeline has something learnable to run on without downloading data.

**They are not medical images, carry no diagnostic meaning, and must never be used to train or
evaluate a model meant for real skin lesions.** Use \`skingan data download isic2019\` for real data.

Layout: \`labels.csv\` (ISIC 2019 ground-truth format), \`images/<id>.png\`, \`provenance.jsonl\`,
\`dataset.json\` (\`"synthetic": true\`).
`;
}
