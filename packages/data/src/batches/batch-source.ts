import { dirname } from 'node:path';
import { type Batch, type BatchSource, type LabelSpace, Rng, type Sample, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { bytesToFloat, checkImageSize, decodeImageBytes } from '../image/decode.js';
import { type Problem, skippedImage, transparencyProblem } from '../problems.js';
import { type AugmentConfig, augmentImages, drawAugmentParams } from './augment.js';
import { ImageCache } from './image-cache.js';
import { epochOrder } from './order.js';

export interface BatchSourceOptions {
  /** Side of the square images the batches hold (decoded: short side resized, center crop). */
  imageSize: number;
  batchSize: number;
  /** Drives shuffling, balanced sampling and augmentation. */
  seed: number;
  /** Reshuffle every epoch; default true. */
  shuffle?: boolean;
  /** Drop a last batch smaller than `batchSize`; default false. */
  dropLast?: boolean;
  /** Random flips, quarter turns, zoom/shift and colour jitter; `true` for the defaults. Default off. */
  augment?: AugmentConfig | boolean;
  /** Sample classes uniformly (rare classes repeat within an epoch). Default false. */
  balanced?: boolean;
  /** Batches decoded ahead while the trainer works on the current one; default 2. */
  prefetch?: number;
  /** Keep decoded images in memory up to this many bytes (as uint8); default 1 GiB. 0 disables. */
  cacheBytes?: number;
  /** Fail on an undecodable image instead of skipping it. Default false. */
  strict?: boolean;
  /** Called once per undecodable image (default: a warning on stderr). */
  onProblem?: (problem: Problem) => void;
  /** For consumers that want the class names. */
  labelSpace?: LabelSpace;
}

/** A BatchSource over image files, with its cache and skipped files visible for reports. */
export interface ImageBatchSource extends BatchSource {
  readonly labelSpace: LabelSpace | undefined;
  readonly imageSize: number;
  /** Images that could not be decoded (skipped from now on), and images that lost transparency. */
  readonly problems: readonly Problem[];
  /** How many images could not be decoded so far (they are skipped). */
  readonly skipped: number;
  /** Bytes of decoded images held in memory. */
  readonly cachedBytes: number;
  /** Frees the cache. */
  dispose(): void;
}

interface Loaded {
  ids: string[];
  labels: number[];
  values: Float32Array;
}

/**
 * Streams batches of samples (NHWC float32 in [-1, 1], int32 labels) epoch by epoch. The order and
 * the augmentation of epoch e depend only on (seed, e), so `epoch(e, { skipBatches })` after a
 * resume yields exactly what an uninterrupted run would have. Decoding runs on sharp's threads
 * `prefetch` batches ahead of the consumer, which must dispose each batch's tensors; tensors exist
 * only for the batch being handed out, so stopping early leaks nothing.
 */
export function createBatchSource(samples: readonly Sample[], options: BatchSourceOptions): ImageBatchSource {
  const { imageSize, batchSize, seed } = options;
  checkImageSize(imageSize);
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new SkinganError(`batch size must be a positive integer, got ${batchSize}`, { code: 'USAGE' });
  }
  if (samples.length === 0) throw new SkinganError('no samples to make batches of', { code: 'USAGE' });
  const shuffle = options.shuffle ?? true;
  const balanced = options.balanced ?? false;
  const prefetch = Math.max(0, Math.floor(options.prefetch ?? 2));
  const augment = options.augment === true ? {} : options.augment || undefined;
  const cache = new ImageCache(options.cacheBytes ?? 2 ** 30);
  const problems: Problem[] = [];
  const bad = new Set<string>();
  const transparent = new Set<string>();
  let transparencyReported = false;
  const labels = samples.map((s) => s.label);
  const perImage = imageSize * imageSize * 3;
  const steps = options.dropLast
    ? Math.floor(samples.length / batchSize)
    : Math.ceil(samples.length / batchSize);
  if (steps === 0) {
    throw new SkinganError(`${samples.length} samples make no full batch of ${batchSize} (dropLast)`, {
      code: 'USAGE',
    });
  }
  const report =
    options.onProblem ??
    ((p: Problem) => process.stderr.write(`skingan: warning: ${p.file}: ${p.message}\n`));
  const note = (problem: Problem): void => {
    problems.push(problem);
    report(problem);
  };

  async function bytesOf(sample: Sample): Promise<Uint8Array | undefined> {
    const hit = cache.get(sample.path);
    if (hit) return hit;
    if (bad.has(sample.path)) return undefined;
    try {
      const bytes = await decodeImageBytes(sample.path, imageSize, {
        onTransparent: () => transparent.add(sample.path),
      });
      cache.set(sample.path, bytes);
      return bytes;
    } catch (e) {
      if (options.strict || !(e instanceof SkinganError)) throw e;
      if (!bad.has(sample.path)) {
        bad.add(sample.path);
        note(skippedImage(sample, e));
      }
      return undefined;
    }
  }

  async function load(indices: readonly number[], epoch: number, b: number): Promise<Loaded> {
    const decoded = await Promise.all(indices.map((i) => bytesOf(samples[i]!)));
    const kept = indices.filter((_, k) => decoded[k] !== undefined);
    const values = new Float32Array(kept.length * perImage);
    let k = 0;
    for (const bytes of decoded) if (bytes) bytesToFloat(bytes, values, perImage * k++);
    // Parameters are drawn for the full batch, so a skipped image does not shift its neighbours'.
    const params =
      augment && drawAugmentParams(indices.length, augment, new Rng(`augment:${seed}:${epoch}:${b}`));
    const keptParams = params && {
      transpose: params.transpose.filter((_, j) => decoded[j]),
      boxes: params.boxes.filter((_, j) => decoded[j]),
      brightness: params.brightness.filter((_, j) => decoded[j]),
      contrast: params.contrast.filter((_, j) => decoded[j]),
      saturation: params.saturation.filter((_, j) => decoded[j]),
    };
    return {
      ids: kept.map((i) => samples[i]!.id),
      labels: kept.map((i) => samples[i]!.label),
      values: keptParams ? augmentImages(values, kept.length, imageSize, keptParams) : values,
    };
  }

  function toBatch(loaded: Loaded): Batch {
    const n = loaded.ids.length;
    return {
      images: tf.tensor4d(loaded.values, [n, imageSize, imageSize, 3], 'float32'),
      labels: tf.tensor1d(loaded.labels, 'int32'),
      ids: loaded.ids,
    };
  }

  async function* epochBatches(epoch: number, skipBatches: number): AsyncGenerator<Batch> {
    const order = epochOrder(labels, { seed, epoch, shuffle, balanced });
    const chunks: number[][] = [];
    for (let b = 0; b < steps; b++) chunks.push(order.slice(b * batchSize, (b + 1) * batchSize));
    let next = Math.max(0, skipBatches);
    const ahead: Promise<Loaded>[] = [];
    const topUp = (): void => {
      while (ahead.length < prefetch && next < chunks.length) {
        const p = load(chunks[next]!, epoch, next++);
        p.catch(() => undefined); // observed when awaited; avoids an unhandled rejection if the consumer stops first
        ahead.push(p);
      }
    };
    while (true) {
      topUp();
      const current =
        ahead.shift() ?? (next < chunks.length ? load(chunks[next]!, epoch, next++) : undefined);
      if (!current) {
        // Once, after the first epoch that met any: how many images lost their transparency.
        if (transparent.size > 0 && !transparencyReported) {
          transparencyReported = true;
          note(transparencyProblem(transparent.size, samples.length, dirname([...transparent][0]!)));
        }
        return;
      }
      const loaded = await current;
      topUp(); // decode the next batches while the consumer trains on this one
      if (loaded.ids.length > 0) yield toBatch(loaded);
    }
  }

  return {
    size: samples.length,
    batchSize,
    stepsPerEpoch: steps,
    imageSize,
    labelSpace: options.labelSpace,
    problems,
    get skipped() {
      return bad.size;
    },
    get cachedBytes() {
      return cache.bytes;
    },
    epoch(epoch: number, opts: { skipBatches?: number } = {}): AsyncIterable<Batch> {
      return epochBatches(epoch, opts.skipBatches ?? 0);
    },
    dispose() {
      cache.clear();
    },
  };
}
