import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { type LabelSpace, type Sample, skinganCacheDir, writeJsonAtomic } from '@skingan/core';
import { type Dataset, loadDataset } from '../dataset/load-dataset.js';
import { hashFile } from '../download/http-download.js';
import { mapPool } from '../util/pool.js';

/** Identity of a dataset's content: what a result computed from it depends on. */
export interface DatasetFingerprint {
  /** SHA-256 (hex) over the label files and every image the dataset uses, with their ids. */
  hash: string;
  /** Images hashed (the dataset's samples). */
  images: number;
  /** The folders, absolute, in the order given. */
  dirs: string[];
}

export interface FingerprintOptions {
  /**
   * File of cached per-file hashes; default `file-hashes.json` in `skinganCacheDir()`. `false`
   * reads every file again (nothing cached, nothing written).
   */
  cacheFile?: string | false;
  /** An open cache to use (and leave unsaved) instead of `cacheFile`: many fingerprints, one read. */
  cache?: FileHashCache;
}

/** Bump when what goes into a fingerprint changes, so old fingerprints never match new ones. */
const FORMAT = 'skingan-dataset-fingerprint@1';
const CACHE_FORMAT = 'skingan-file-hashes@1';
/** Files hashed at once: reads overlap, the hashing itself is one core's work. */
const CONCURRENCY = 8;

/**
 * The fingerprint of a dataset (a folder, a list of folders, or a loaded `Dataset`): a hash of each
 * folder's label file and of every image file its samples use, with each sample's id and folder.
 * Two datasets with the same fingerprint hold the same bytes under the same ids, wherever they lie.
 *
 * Per-file hashes are cached (see `FileHashCache`), so fingerprinting 25,000 unchanged images costs
 * one `stat` each, not a read.
 */
export async function fingerprintDataset(
  dataset: string | readonly string[] | Dataset,
  options: FingerprintOptions = {},
): Promise<DatasetFingerprint> {
  const ds =
    typeof dataset === 'string' || Array.isArray(dataset) ? await loadDataset(dataset) : (dataset as Dataset);
  const cache = options.cache ?? (await FileHashCache.open(options.cacheFile));
  const labelHashes = await cache.hashAll(ds.roots.map((r) => r.labelsFile));
  const imageHashes = await cache.hashAll(ds.samples.map((s) => s.path));
  if (!options.cache) await cache.save();
  const h = createHash('sha256').update(`${FORMAT}\n`);
  ds.roots.forEach((root, i) => {
    h.update(`root ${i} ${relative(root.dir, root.labelsFile)} ${labelHashes[i]}\n`);
  });
  ds.samples.forEach((s, i) => {
    const root = ds.roots.findIndex((r) => isInside(r.dir, s.path));
    h.update(`image ${root} ${s.id} ${relative(ds.roots[root]?.dir ?? '/', s.path)} ${imageHashes[i]}\n`);
  });
  return { hash: h.digest('hex'), images: ds.samples.length, dirs: ds.roots.map((r) => r.dir) };
}

/**
 * A hash of some samples as a job reads them: each id with its class name and its image's content,
 * in id order (so the order samples were listed in does not matter). For e.g. the train part of a
 * split: what a model trained on that part depends on, and nothing else of the dataset.
 */
export async function fingerprintSamples(
  samples: readonly Sample[],
  labelSpace: LabelSpace,
  options: FingerprintOptions = {},
): Promise<string> {
  const cache = options.cache ?? (await FileHashCache.open(options.cacheFile));
  const hashes = await cache.hashAll(samples.map((s) => s.path));
  if (!options.cache) await cache.save();
  const rows = samples.map((s, i) => `${s.id} ${labelSpace.classes[s.label]} ${hashes[i]}\n`);
  rows.sort();
  const h = createHash('sha256').update(`${FORMAT} samples\n`);
  for (const row of rows) h.update(row);
  return h.digest('hex');
}

/** What a cached hash is validated by: the file's size, mtime, ctime and inode. */
const STAT_KEYS = ['size', 'mtimeMs', 'ctimeMs', 'ino'] as const;
type StatKey = (typeof STAT_KEYS)[number];
type CacheEntry = Record<StatKey, number> & { sha256: string };

/** Whether `a` and `b` agree on every one of `keys`. */
const sameStat = (
  a: Record<StatKey, number>,
  b: Record<StatKey, number>,
  keys: readonly StatKey[] = STAT_KEYS,
) => keys.every((k) => a[k] === b[k]);

/**
 * SHA-256 of files, cached by absolute path and validated by size, mtime, ctime and inode: a file
 * whose four values are unchanged is not read again. Replacing a file (a copy, `mv`, an editor's
 * save) gives it a new inode or ctime even when its size and mtime are restored (`touch -r`,
 * `cp -p`), so it is hashed again. What the cache cannot see is a change that keeps all four:
 * bytes rewritten in place with the clock set back (ctime follows the system clock), or a file
 * system that does not keep ctime/inodes; pass `cacheFile: false` to read everything.
 *
 * The cache lives in the user's cache folder, never in a dataset (datasets may be read-only). It is
 * written atomically and merged with what other processes wrote meanwhile; a damaged cache file is
 * ignored (every hash is recomputed) and replaced.
 */
export class FileHashCache {
  private changed = false;

  private constructor(
    readonly file: string | undefined,
    private readonly entries: Map<string, CacheEntry>,
  ) {}

  static defaultFile(): string {
    return join(skinganCacheDir(), 'file-hashes.json');
  }

  static async open(file: string | false = FileHashCache.defaultFile()): Promise<FileHashCache> {
    if (file === false) return new FileHashCache(undefined, new Map());
    return new FileHashCache(resolve(file), await readEntries(resolve(file)));
  }

  /** The SHA-256 (hex) of a file's content. */
  async hash(path: string): Promise<string> {
    const abs = resolve(path);
    const st = await fs.stat(abs);
    const cached = this.entries.get(abs);
    if (cached && sameStat(cached, st)) return cached.sha256;
    const sha256 = await hashFile(abs);
    // A file changed while it was read is not cached: its next use reads it again.
    const after = await fs.stat(abs);
    if (sameStat(after, st, ['mtimeMs', 'size', 'ctimeMs'])) {
      this.entries.set(abs, { size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, ino: st.ino, sha256 });
      this.changed = true;
    }
    return sha256;
  }

  /**
   * The SHA-256 of each file, in order, several read at a time (reads overlap; an unchanged file
   * costs a `stat`). Call `save` once afterwards to remember the new ones.
   */
  hashAll(paths: readonly string[]): Promise<string[]> {
    return mapPool(paths, CONCURRENCY, (p) => this.hash(p));
  }

  /**
   * Writes new hashes, merged over the file's current content (another process may have added
   * some). A cache that cannot be written (read-only home) only costs the next run the reads.
   */
  async save(): Promise<void> {
    if (!this.file || !this.changed) return;
    const merged = await readEntries(this.file);
    for (const [k, v] of this.entries) merged.set(k, v);
    try {
      await writeJsonAtomic(this.file, { format: CACHE_FORMAT, files: Object.fromEntries(merged) });
      this.changed = false;
    } catch {
      // Not fatal: the hashes are right, they are just not remembered.
    }
  }
}

async function readEntries(file: string): Promise<Map<string, CacheEntry>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return new Map(); // missing or damaged: recompute
  }
  const files = (parsed as { format?: unknown; files?: unknown } | null)?.files;
  if ((parsed as { format?: unknown }).format !== CACHE_FORMAT || typeof files !== 'object' || !files)
    return new Map();
  const out = new Map<string, CacheEntry>();
  for (const [k, v] of Object.entries(files as Record<string, Partial<CacheEntry>>)) {
    if (
      typeof v?.sha256 === 'string' &&
      /^[0-9a-f]{64}$/.test(v.sha256) &&
      STAT_KEYS.every((s) => typeof v[s] === 'number')
    )
      out.set(k, v as CacheEntry);
  }
  return out;
}

function isInside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith('/');
}
