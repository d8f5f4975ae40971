import { promises as fs } from 'node:fs';
import { cpus } from 'node:os';
import type { Sample } from '@skingan/core';
import sharp from 'sharp';
import type { Problem } from '../problems.js';
import { mapPool } from '../util/pool.js';
import { decodeReason } from './decode.js';

export interface CheckImagesOptions {
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Decodes every image once (small: JPEG's shrink-on-load keeps it cheap) and returns one problem per
 * file that is empty, truncated or not an image, with the decoder's reason; the same `failOn` as
 * training, so what passes here decodes there.
 */
export async function checkImages(
  samples: readonly Sample[],
  options: CheckImagesOptions = {},
): Promise<Problem[]> {
  const found: (Problem | undefined)[] = new Array(samples.length);
  let done = 0;
  await mapPool(samples, Math.max(1, options.concurrency ?? cpus().length), async (s, i) => {
    let input: Buffer | undefined;
    try {
      input = await fs.readFile(s.path);
      await sharp(input, { failOn: 'truncated' }).resize(8, 8, { fit: 'fill' }).raw().toBuffer();
    } catch (e) {
      found[i] = { file: s.path, id: s.id, message: `cannot decode image: ${decodeReason(e, input)}` };
    }
    options.onProgress?.(++done, samples.length);
  });
  return found.filter((p): p is Problem => p !== undefined);
}
