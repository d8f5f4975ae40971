import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FeatureRows } from '@skingan/classifier';
import { type Sample, SkinganError, skinganCacheDir } from '@skingan/core';
import { FileHashCache, loadDataset, loadImages } from '@skingan/data';
import {
  type DisposableFeatureExtractor,
  extractFeatures,
  FeatureStore,
  type FeatureStoreIdentity,
  loadFeatureExtractor,
  resnet50WeightsDir,
} from '@skingan/metrics';
import type { Command } from 'commander';
import { addOptions, initCommandBackend } from '../options.js';
import { printJson } from '../ui/output.js';
import { formatDuration, Progress } from '../ui/progress.js';

// The fast path's features (docs/fast-path.md): a vector per distinct image file, computed once by
// a fixed extractor and kept in a content-addressed FeatureStore, which `classifier head` reads.

/** The flags that choose the vectors: the same in `features extract` and `classifier head`. */
export interface FeatureFlags {
  extractor: string;
  layer?: string;
  size: number;
  inputSize?: number;
  store?: string;
  batchSize: number;
}

export function addFeatureFlags(cmd: Command): Command {
  return addOptions(cmd, [
    [
      '--extractor <which>',
      'resnet50 (ImageNet ResNet-50 avg-pool, 2048-d, from `skingan weights fetch resnet50-imagenet`), test (small random conv net), or a tfjs layers model folder',
      'text',
      'resnet50',
    ],
    ['--layer <name>', 'feature layer of a model folder given to --extractor (default: its output)'],
    [
      '--size <n>',
      'side the images are decoded at before the extractor resizes them to its input',
      'int',
      128,
    ],
    [
      '--input-size <n>',
      'side the extractor runs at (default: its own, 224 for resnet50); a convolutional network runs at any: resnet50 at 128 with --size 128 costs a third and skips the resize',
      'int',
    ],
    [
      '--store <dir>',
      'feature store folder (default: $SKINGAN_CACHE/features/<extractor, weights and size>)',
    ],
    ['--batch-size <n>', 'images per forward pass', 'int', 16],
  ]);
}

/** `--extractor`, `--layer` and `--input-size` as `loadFeatureExtractor`'s options. */
export function extractorOptions(opts: { layer?: string; inputSize?: number }) {
  return {
    ...(opts.layer ? { layerName: opts.layer } : {}),
    ...(opts.inputSize !== undefined ? { inputSize: opts.inputSize } : {}),
  };
}

/** An extractor and its store, with what a lookup needs. */
interface FeatureSource {
  extractor: DisposableFeatureExtractor;
  store: FeatureStore;
  hashes: FileHashCache;
  flags: FeatureFlags;
  dispose(): void;
}

export async function openFeatureSource(flags: FeatureFlags): Promise<FeatureSource> {
  if (!(flags.size >= 8)) {
    throw new SkinganError(`--size must be at least 8, got ${flags.size}`, { code: 'USAGE' });
  }
  if (flags.inputSize !== undefined && !(flags.inputSize >= 32)) {
    throw new SkinganError(`--input-size must be at least 32, got ${flags.inputSize}`, { code: 'USAGE' });
  }
  const extractor = await loadFeatureExtractor(flags.extractor, extractorOptions(flags));
  try {
    const hashes = await FileHashCache.open();
    const identity: FeatureStoreIdentity = {
      extractor: extractor.name,
      weights: await weightsHash(flags.extractor, hashes),
      decodeSize: flags.size,
      dim: extractor.dim,
    };
    const key = createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
    const store = await FeatureStore.open(flags.store ?? join(skinganCacheDir(), 'features', key), identity);
    return { extractor, store, hashes, flags, dispose: () => extractor.dispose() };
  } catch (err) {
    extractor.dispose();
    throw err;
  }
}

/**
 * The vectors of `samples`, one row each in their order, extracting (and storing, a batch at a
 * time, so a killed run loses at most one batch) those the store lacks. Images with the same bytes
 * share a vector.
 */
async function featureRows(
  source: FeatureSource,
  samples: readonly Sample[],
  options: { label: string; quiet?: boolean } = { label: 'features' },
): Promise<{ x: Float32Array; extracted: number; reused: number }> {
  const keys = await source.hashes.hashAll(samples.map((s) => s.path));
  await source.hashes.save();
  const missing = new Map<string, Sample>();
  keys.forEach((k, i) => {
    if (!source.store.has(k) && !missing.has(k)) missing.set(k, samples[i]!);
  });
  const todo = [...missing.entries()];
  if (todo.length) {
    const progress = new Progress({ ...options, total: todo.length, unit: 'images' });
    const bs = source.flags.batchSize;
    for (let start = 0; start < todo.length; start += bs) {
      const part = todo.slice(start, start + bs);
      const images = await loadImages(
        part.map(([, s]) => s),
        source.flags.size,
      );
      let m: Awaited<ReturnType<typeof extractFeatures>>;
      try {
        m = await extractFeatures(source.extractor, images, { batchSize: bs });
      } finally {
        images.dispose();
      }
      await source.store.append(
        part.map(([key], i) => ({ key, vector: m.data.subarray(i * m.cols, (i + 1) * m.cols) })),
      );
      progress.update(Math.min(start + bs, todo.length));
    }
    progress.finish();
  }
  const d = source.store.identity.dim;
  const x = new Float32Array(samples.length * d);
  keys.forEach((k, i) => {
    x.set(source.store.get(k)!, i * d);
  });
  return { x, extracted: todo.length, reused: new Set(keys).size - todo.length };
}

/**
 * The rows of several parts of a dataset (train, val, test) with their labels, from one lookup:
 * every file is hashed in one concurrent pass and the hash cache is saved once. `extracted` and
 * `reused` count distinct images: computed now, and found in the store.
 */
export async function featureRowsByPart(
  source: FeatureSource,
  parts: readonly (readonly Sample[])[],
  options: { label: string; quiet?: boolean } = { label: 'features' },
): Promise<{ parts: FeatureRows[]; extracted: number; reused: number }> {
  const dim = source.store.identity.dim;
  const { x, extracted, reused } = await featureRows(source, parts.flat(), options);
  let offset = 0;
  const rows = parts.map((samples) => {
    const part = x.subarray(offset * dim, (offset + samples.length) * dim);
    offset += samples.length;
    return { x: part, labels: Int32Array.from(samples.map((s) => s.label)), dim };
  });
  return { parts: rows, extracted, reused };
}

/** What identifies an extractor's weights: the hash of its files (the test network: its name). */
async function weightsHash(which: string, hashes: FileHashCache): Promise<string> {
  if (which === 'test') return 'test';
  const dir = which === 'resnet50' ? resnet50WeightsDir() : resolve(which);
  const names = (await fs.readdir(dir))
    .filter((n) => n === 'model.json' || n === 'extractor.json' || n.endsWith('.bin'))
    .sort();
  const digests = await hashes.hashAll(names.map((n) => join(dir, n)));
  const h = createHash('sha256');
  for (const [i, n] of names.entries()) h.update(`${n}:${digests[i]}\n`);
  await hashes.save();
  return h.digest('hex');
}

interface ExtractFlags extends FeatureFlags {
  json?: boolean;
}

export function registerFeatures(program: Command): void {
  const features = program
    .command('features')
    .description(
      'feature vectors of images, computed once and kept in a content-addressed store (the fast path of many seeds)',
    );
  addFeatureFlags(
    features
      .command('extract')
      .description(
        'compute the vectors of every image of the folders that the store lacks (resumable: a rerun skips what is stored)',
      )
      .argument('<dir...>', 'dataset folders (labels.csv + images/)'),
  )
    .option('--json', 'print a summary as one JSON object')
    .action(async (dirs: string[], opts: ExtractFlags, cmd: Command) => {
      await initCommandBackend(cmd, opts.json);
      const started = performance.now();
      const source = await openFeatureSource(opts);
      try {
        const dataset = await loadDataset(dirs);
        const { extracted, reused } = await featureRows(source, dataset.samples, {
          label: 'features',
          quiet: opts.json,
        });
        const seconds = (performance.now() - started) / 1000;
        const summary = {
          store: source.store.dir,
          extractor: source.extractor.name,
          images: dataset.samples.length,
          extracted,
          reused,
          storeSize: source.store.size,
          seconds,
        };
        if (opts.json) printJson(summary);
        else {
          process.stderr.write(
            `features: ${extracted} extracted, ${reused} already stored (${dataset.samples.length} images; ${formatDuration(seconds * 1000)}${extracted ? `, ${((seconds * 1000) / extracted).toFixed(0)} ms an extracted image` : ''})\nstore: ${source.store.dir} (${source.store.size} vectors of ${source.extractor.name})\n`,
          );
        }
      } finally {
        source.dispose();
      }
    });
}
