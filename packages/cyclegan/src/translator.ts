import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { CheckpointStore, type ImageTranslator, loadModel, SkinganError } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { type CycleGanConfig, CycleGanConfigSchema } from './config.js';
import { registerCycleganLayers } from './layers/register.js';
import { translateBatch } from './training/samples.js';

/** a2b: G_A (domain A → domain B); b2a: G_B. */
export type Direction = 'a2b' | 'b2a';

/** A trained CycleGAN generator as an `ImageTranslator`. */
export class CycleGanTranslator implements ImageTranslator {
  constructor(
    readonly generator: tf.LayersModel,
    /** The size the generator was trained at; it accepts any multiple of 4. */
    readonly imageSize: number,
    readonly direction: Direction,
    /** Run and step the weights come from, for provenance. */
    readonly source: { run?: string; step?: number } = {},
  ) {}

  /** NHWC images in [-1, 1] → translated images, same shape. Runs one image at a time. */
  translate(images: tf.Tensor4D): tf.Tensor4D {
    const [, h, w, c] = images.shape;
    if (h % 4 !== 0 || w % 4 !== 0 || c !== 3) {
      throw new SkinganError(
        `cannot translate ${h}×${w}×${c} images: height and width must be multiples of 4, with 3 channels`,
        {
          code: 'BAD_INPUT',
          hint: `resize them to ${this.imageSize}×${this.imageSize}`,
        },
      );
    }
    return translateBatch(this.generator, images);
  }

  dispose(): void {
    this.generator.dispose();
  }
}

/**
 * Loads the generator of one direction from a CycleGAN run folder (its latest checkpoint, or the
 * checkpoint of `step`).
 */
export async function loadTranslator(
  runDir: string,
  direction: Direction,
  options: { step?: number } = {},
): Promise<CycleGanTranslator> {
  registerCycleganLayers();
  const dir = resolve(runDir);
  const config = await readRunConfig(dir);
  const store = new CheckpointStore(join(dir, 'checkpoints'));
  const all = await store.list();
  const ref = options.step === undefined ? all[all.length - 1] : all.find((r) => r.step === options.step);
  if (!ref) {
    throw new SkinganError(
      options.step === undefined
        ? 'this CycleGAN run has no checkpoint yet'
        : `this run has no checkpoint of step ${options.step}`,
      {
        code: 'NOT_FOUND',
        file: join(dir, 'checkpoints'),
        hint:
          options.step === undefined
            ? 'train it first (skingan cyclegan train)'
            : `available: ${all.map((r) => r.step).join(', ') || 'none'}`,
      },
    );
  }
  const generator = await loadModel(join(ref.dir, direction === 'a2b' ? 'G_A' : 'G_B'));
  return new CycleGanTranslator(generator, config.size, direction, { run: dir, step: ref.step });
}

/** The resolved config a CycleGAN run was trained with. */
export async function readRunConfig(runDir: string): Promise<CycleGanConfig> {
  const path = join(runDir, 'config.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(path, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SkinganError(
      missing
        ? 'not a CycleGAN run folder (no config.json)'
        : `unreadable config.json: ${(e as Error).message}`,
      {
        code: missing ? 'NOT_FOUND' : 'BAD_INPUT',
        file: path,
        cause: e,
      },
    );
  }
  const parsed = CycleGanConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SkinganError(
      `config.json is not a CycleGAN config: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
      {
        code: 'BAD_INPUT',
        file: path,
      },
    );
  }
  return parsed.data;
}
