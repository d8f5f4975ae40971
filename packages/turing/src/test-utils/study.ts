import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDemoSet } from '@skingan/data';
import { createStudy } from '../create.js';

/**
 * A small study in a temp folder: two demo sets stand in for "real" (32 px) and "synthetic" (48 px,
 * another seed). `perClass` of each per class for MEL and NV: 4·perClass images.
 */
export async function makeStudy(
  perClass = 5,
): Promise<{ root: string; study: string; real: string; synthetic: string }> {
  const root = await fs.mkdtemp(join(tmpdir(), 'skingan-turing-'));
  const real = join(root, 'real');
  const synthetic = join(root, 'synthetic');
  await generateDemoSet(real, { perClass: perClass + 1, size: 32, seed: 0 });
  await generateDemoSet(synthetic, { perClass: perClass + 1, size: 48, seed: 1 });
  const study = join(root, 'study');
  await createStudy({
    real,
    synthetic: [{ name: 'acgan', dir: synthetic }],
    perClass,
    out: study,
    classes: ['MEL', 'NV'],
    seed: 7,
  });
  return { root, study, real, synthetic };
}
