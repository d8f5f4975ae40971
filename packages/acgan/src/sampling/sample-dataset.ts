import { type ConditionalGenerator, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { AcganGenerator } from './acgan-generator.js';

/** What is known about one generated image; a dataset writer stores it as provenance. */
export interface SampleRecord {
  /** Index into the generator's label space. */
  label: number;
  className: string;
  /** `generator.generate([label], seed)` redraws exactly this image. */
  seed: number;
  /** 0-based index of the image within its class. */
  index: number;
}

export interface SampleToDatasetOptions {
  /** Images per class. */
  perClass: number;
  /** Base seed; image k (over all classes, in order) uses seed + k. Default 0. */
  seed?: number;
  /** Class indices to draw; default every class of the label space. */
  classes?: readonly number[];
  /** Output side; default the generator's. Downscaling by an integer factor averages pixel blocks. */
  size?: number;
  /** Images per `generate` call; default 32. */
  batchSize?: number;
  /** Receives each batch ([n, size, size, 3] in [-1, 1], disposed after it returns) and its records. */
  write(images: tf.Tensor4D, records: SampleRecord[]): Promise<void>;
  onProgress?(done: number, total: number): void;
}

/**
 * Draws `perClass` images of each class and hands them to `write` in batches: the way synthetic
 * training sets are made (`skingan acgan sample` writes them with data's DatasetWriter). Each
 * image has its own seed, recorded in its `SampleRecord`, so any one can be redrawn.
 */
export async function sampleToDataset(
  generator: ConditionalGenerator,
  options: SampleToDatasetOptions,
): Promise<{ count: number; perClass: Record<string, number> }> {
  const { perClass, write } = options;
  const classes = options.classes ?? generator.labelSpace.classes.map((_, i) => i);
  const base = options.seed ?? 0;
  const batchSize = options.batchSize ?? 32;
  const size = options.size ?? generator.imageSize;
  if (!Number.isInteger(perClass) || perClass < 1) {
    throw new SkinganError(`--per-class must be a positive integer, got ${perClass}`, { code: 'USAGE' });
  }
  if (!Number.isInteger(size) || size < 1) {
    throw new SkinganError(`--size must be a positive integer, got ${size}`, { code: 'USAGE' });
  }
  for (const c of classes) {
    if (generator.labelSpace.classes[c] === undefined) {
      throw new SkinganError(`class index ${c} is not in the generator's label space`, {
        code: 'USAGE',
        hint: `classes are 0..${generator.labelSpace.classes.length - 1}: ${generator.labelSpace.classes.join(', ')}`,
      });
    }
  }
  const records: SampleRecord[] = classes.flatMap((label) =>
    Array.from({ length: perClass }, (_, index) => ({
      label,
      className: generator.labelSpace.classes[label]!,
      index,
      seed: 0,
    })),
  );
  records.forEach((r, k) => {
    r.seed = base + k;
  });
  const counts: Record<string, number> = {};
  for (let start = 0; start < records.length; start += batchSize) {
    const batch = records.slice(start, start + batchSize);
    const images = tf.tidy(() => {
      // An AcganGenerator seeds image i of a call with seed + i: one call for the batch gives each
      // image its record's seed. Any other generator is called once per image for the same property.
      const all =
        generator instanceof AcganGenerator
          ? generator.generate(
              batch.map((r) => r.label),
              batch[0]!.seed,
            )
          : (tf.concat(
              batch.map((r) => generator.generate([r.label], r.seed)),
              0,
            ) as tf.Tensor4D);
      return resizeImages(all, size);
    });
    try {
      await write(images, batch);
    } finally {
      images.dispose();
    }
    for (const r of batch) counts[r.className] = (counts[r.className] ?? 0) + 1;
    options.onProgress?.(Math.min(records.length, start + batchSize), records.length);
  }
  return { count: records.length, perClass: counts };
}

/**
 * Resizes square images to `size`: block averaging for integer downscale factors (no aliasing),
 * bilinear (half-pixel centres) otherwise. tfjs has no bicubic kernel.
 */
export function resizeImages(images: tf.Tensor4D, size: number): tf.Tensor4D {
  const h = images.shape[1];
  if (size === h) return images;
  return tf.tidy(() => {
    if (size < h && h % size === 0) {
      const f = h / size;
      return tf.avgPool(images, f, f, 'valid');
    }
    return tf.clipByValue(tf.image.resizeBilinear(images, [size, size], false, true), -1, 1);
  });
}
