import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real data beside the project (../shared/data): read from there, never copied. */
export const SHARED_DATA = fileURLToPath(new URL('../../../../../shared/data/', import.meta.url));
export const ISIC_MINI = join(SHARED_DATA, 'isic-mini');
export const haveIsicMini = existsSync(join(ISIC_MINI, 'labels.csv'));

/** Width and height from a PNG's IHDR chunk (and a check that it is a PNG). */
export async function pngSize(path: string): Promise<[number, number]> {
  const b = await fs.readFile(path);
  if (b.subarray(1, 4).toString() !== 'PNG') throw new Error(`${path} is not a PNG`);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

/** The records of a JSON-lines file (metrics.jsonl, provenance.jsonl). */
export async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  return (await fs.readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
