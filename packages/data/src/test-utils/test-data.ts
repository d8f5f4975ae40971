import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { generateDemoSet } from '../demo/demo-set.js';
import { SHARED_DATA } from './shared-dir.js';

/**
 * The images the tests read: the real data beside the repository (`../shared/data`, or
 * `$SKINGAN_SHARED_DATA`; read there, never copied), or else a SYNTHETIC demo set skingan draws,
 * generated once per machine into a cache folder by the vitest globalSetup (`test-data.setup.ts`).
 * The demo set has isic-mini's shape (8 classes × 60 images), so tests assert the same counts on
 * either; only the tests that need real photographs (isic-fullres) skip without the real data.
 */
export { SHARED_DATA };
export const ISIC_FULLRES = join(SHARED_DATA, 'isic-fullres');
/** isic-fullres: 31 real full-resolution photographs (JPEG/EXIF decoding, resizing parity). */
export const HAVE_ISIC_FULLRES = existsSync(join(ISIC_FULLRES, 'labels.csv'));
export const NO_PHOTOGRAPHS = `(skipped: needs the real photographs of ${ISIC_FULLRES})`;

/** A dataset folder of 8 classes × 60 images. */
export interface TestImages {
  /** `isic-mini` or `the demo set`, for test names. */
  name: string;
  dir: string;
  /** Real photographs (isic-mini) or the synthetic demo set. */
  real: boolean;
  /** The image files' extension (`.jpg` real, `.png` demo). */
  ext: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    skinganTestImages: TestImages;
  }
}

/** The images resolved by the globalSetup of this vitest run (see `vitest.shared.ts`). */
export function testImages(): TestImages {
  const images = inject('skinganTestImages');
  if (!images) {
    throw new Error(
      "no test images: this package's vitest.config.ts needs the globalSetup TEST_DATA_SETUP of vitest.shared.ts",
    );
  }
  return images;
}

const DEMO = { perClass: 60, size: 64, seed: 0 };

/** isic-mini when present; else the demo set from the cache, generated first if missing. */
export async function resolveTestImages(): Promise<TestImages> {
  const mini = join(SHARED_DATA, 'isic-mini');
  if (existsSync(join(mini, 'labels.csv'))) return { name: 'isic-mini', dir: mini, real: true, ext: '.jpg' };
  return { name: 'the demo set', dir: await cachedDemoSet(), real: false, ext: '.png' };
}

/**
 * The demo set in `$SKINGAN_TEST_CACHE` (default: the system temp folder), keyed by its options and
 * the generator's source, so a changed generator draws a new one. Concurrent test runs (turbo runs
 * packages in parallel) each draw into a private folder and rename it into place; the first rename
 * wins and the others use its result, so no run ever sees a half-written set.
 */
async function cachedDemoSet(): Promise<string> {
  const root = process.env.SKINGAN_TEST_CACHE ?? join(tmpdir(), 'skingan-test-data');
  const dir = join(root, `demo-${DEMO.perClass}x${DEMO.size}-${generatorHash()}`);
  if (existsSync(join(dir, 'dataset.json'))) return dir;
  await fs.mkdir(root, { recursive: true });
  const mine = await fs.mkdtemp(`${dir}.tmp-`);
  try {
    await generateDemoSet(mine, DEMO);
    await fs.rename(mine, dir).catch((e: NodeJS.ErrnoException) => {
      if (!existsSync(join(dir, 'dataset.json'))) throw e; // not lost to a concurrent run
    });
  } finally {
    await fs.rm(mine, { recursive: true, force: true });
  }
  return dir;
}

function generatorHash(): string {
  const src = fileURLToPath(new URL('../demo/', import.meta.url));
  const hash = createHash('sha256').update(JSON.stringify(DEMO));
  for (const name of readdirSync(src).sort())
    if (!name.includes('.test.')) hash.update(name).update(readFileSync(join(src, name)));
  return hash.digest('hex').slice(0, 12);
}
