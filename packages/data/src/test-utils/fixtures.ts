import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll } from 'vitest';

// The real data beside the repository, and the demo set standing in for it: ./test-data.ts.

const made: string[] = [];

/** A fresh directory under the OS temp dir, removed after the test file that made it. */
export async function tempDir(tag = 'skingan-data-'): Promise<string> {
  const dir = await fs.mkdtemp(join(tmpdir(), tag));
  made.push(dir);
  return dir;
}

// Registered on the importing test file's root suite (each file runs in its own process).
afterAll(() => Promise.all(made.splice(0).map((d) => fs.rm(d, { recursive: true, force: true }))));

export const HEADER = 'image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC,UNK';
const CLASSES = ['MEL', 'NV', 'BCC', 'AK', 'BKL', 'DF', 'VASC', 'SCC', 'UNK'];

/** A ground-truth row in the official `0.0/1.0` format. */
export function row(id: string, className: string, one = '1.0', zero = '0.0'): string {
  return [id, ...CLASSES.map((c) => (c === className ? one : zero))].join(',');
}

/** Writes an image whose pixel (x, y) is `color(x, y)` (RGB bytes); format from the extension. */
export async function writeTestImage(
  path: string,
  width: number,
  height: number,
  color: (x: number, y: number) => [number, number, number],
): Promise<void> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(color(x, y), (y * width + x) * 3);
  const img = sharp(data, { raw: { width, height, channels: 3 } });
  await (path.endsWith('.png') ? img.png() : img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' })).toFile(
    path,
  );
}

/**
 * A dataset folder with one uniform-colour image per entry (`labels.csv` + `images/<id>.png`); the
 * colour encodes the index so tests can tell images apart.
 */
export async function makeDataset(
  dir: string,
  entries: readonly { id: string; className: string }[],
  size = 8,
): Promise<void> {
  await fs.mkdir(join(dir, 'images'), { recursive: true });
  await fs.writeFile(
    join(dir, 'labels.csv'),
    `${[HEADER, ...entries.map((e) => row(e.id, e.className))].join('\n')}\n`,
  );
  await Promise.all(
    entries.map((e, i) =>
      writeTestImage(join(dir, 'images', `${e.id}.png`), size, size, () => [i % 256, (i * 7) % 256, 100]),
    ),
  );
}
