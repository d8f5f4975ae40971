import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { Rng, replaceDirAtomic, type Sample, SkinganError } from '@skingan/core';
import { type AugmentConfig, augmentImages, DEFAULT_AUGMENT, drawAugmentParams } from '../batches/augment.js';
import { loadSelection, type SelectionOptions } from '../dataset/selection.js';
import { bytesToFloat, checkImageSize, decodeImageBytes } from '../image/decode.js';
import { floatToBytes, type RgbImage } from '../image/encode.js';
import { mapPool } from '../util/pool.js';
import { DatasetWriter } from '../writer/dataset-writer.js';

export interface AugmentViewsOptions extends SelectionOptions {
  /** Augmented views written per source image (≥ 1). */
  views: number;
  /** With the image id and the view number, draws each view's augmentation. Default 0. */
  seed?: number;
  /** Side the source images are decoded at (short side resized, center crop); default 128. */
  size?: number;
  /** The augmentations drawn; default those of `classifier train --augment` (`DEFAULT_AUGMENT`). */
  augment?: AugmentConfig;
  /** Source images decoded at once; default 32. */
  batchSize?: number;
  /** Called after each batch with the source images done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface AugmentViewsResult {
  dir: string;
  /** Source images and views written (`sources × views`). */
  sources: number;
  total: number;
  /** Views per class name. */
  perClass: Record<string, number>;
}

/** The id of view `k` of image `id`: `<id>_v<k>` (never another image's view: k is all digits). */
export const viewId = (id: string, k: number): string => `${id}_v${k}`;

/**
 * Writes `views` augmented copies of every chosen image of dataset folders into a new dataset folder
 * `out` (`images/<id>_v<k>.png`, the source's label, provenance naming the source image, the view and
 * the seed), for the fast path's classic-augmentation baseline: a linear head on stored features
 * cannot augment on the fly, but it can train on the features of these files. The augmentations are
 * `classifier train --augment`'s (`drawAugmentParams`, `augmentImages`). View k of an image is drawn
 * from its own generator seeded by (seed, id, k), so it is byte-identical on every rerun and does not
 * depend on which other images are in the folder. The folder is filled under a temporary name and
 * renamed when complete: a kill or an undecodable image leaves no partial dataset (and an earlier
 * `out` as it was).
 */
export async function augmentViews(
  sources: string | readonly string[],
  out: string,
  options: AugmentViewsOptions,
): Promise<AugmentViewsResult> {
  const { views } = options;
  if (!Number.isInteger(views) || views < 1) {
    throw new SkinganError(`views per image must be a positive integer, got ${views}`, { code: 'USAGE' });
  }
  const seed = options.seed ?? 0;
  const size = options.size ?? 128;
  checkImageSize(size);
  const batchSize = Math.max(1, options.batchSize ?? 32);
  const augment = { ...DEFAULT_AUGMENT, ...options.augment };
  const outDir = resolve(out);
  const { dataset, samples } = await loadSelection(sources, options);
  if (dataset.roots.some((r) => resolve(r.dir) === outDir)) {
    throw new SkinganError('the output folder is one of the input folders', { code: 'USAGE', file: outDir });
  }
  const classes = dataset.labelSpace.classes;
  const perClass: Record<string, number> = {};
  await replaceDirAtomic(outDir, async (tmp) => {
    const writer = await DatasetWriter.open(tmp, {
      labelSpace: dataset.labelSpace,
      format: 'png',
      command: 'data augment',
      meta: {
        kind: 'augment-views',
        synthetic: dataset.roots.some((r) => r.synthetic),
        sources: dataset.roots.map((r) => r.dir),
        ...(options.split ? { split: resolve(options.split), part: options.part } : {}),
        views,
        seed,
        size,
        augment,
      },
    });
    try {
      for (let start = 0; start < samples.length; start += batchSize) {
        const chunk = samples.slice(start, start + batchSize);
        const { images, labels, ids, provenance } = await chunkViews(chunk, size, views, seed, augment);
        await writer.add(images, labels, ids, provenance);
        for (const label of labels) perClass[classes[label]!] = (perClass[classes[label]!] ?? 0) + 1;
        options.onProgress?.(start + chunk.length, samples.length);
      }
    } finally {
      await writer.close();
    }
  });
  return { dir: outDir, sources: samples.length, total: samples.length * views, perClass };
}

/** Decodes a chunk of source images and draws their views, in source order, views in order. */
async function chunkViews(
  chunk: readonly Sample[],
  size: number,
  views: number,
  seed: number,
  augment: AugmentConfig,
): Promise<{ images: RgbImage[]; labels: number[]; ids: string[]; provenance: Record<string, unknown>[] }> {
  const decoded = await mapPool(chunk, cpus().length, (s) => decodeImageBytes(s.path, size));
  const images: RgbImage[] = [];
  const labels: number[] = [];
  const ids: string[] = [];
  const provenance: Record<string, unknown>[] = [];
  chunk.forEach((s, i) => {
    const image = bytesToFloat(decoded[i]!);
    for (let k = 0; k < views; k++) {
      const params = drawAugmentParams(1, augment, new Rng(`augment-views:${seed}:${s.id}:${k}`));
      images.push({ data: floatToBytes(augmentImages(image, 1, size, params)), width: size, height: size });
      labels.push(s.label);
      ids.push(viewId(s.id, k));
      provenance.push({ source: s.id, sourcePath: s.path, view: k, seed, size });
    }
  });
  return { images, labels, ids, provenance };
}
