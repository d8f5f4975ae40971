import { promises as fs } from 'node:fs';

// One place decides which images the tests read (real ../shared/data, or the generated demo set):
// the data package's test utilities, whose globalSetup this package's vitest.config.ts runs.
export {
  HAVE_ISIC_FULLRES,
  ISIC_FULLRES,
  NO_PHOTOGRAPHS,
  type TestImages,
  testImages,
} from '../../../data/src/test-utils/test-data.js';

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
