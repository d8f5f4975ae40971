import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { FolderLockedError, lockFolder, SkinganError, writeJsonAtomic } from '@skingan/core';

/**
 * What the vectors of a store were computed with. Two stores with the same identity hold the same
 * vector for the same image bytes, so it names the store's folder (see `featureStoreKey`).
 */
export interface FeatureStoreIdentity {
  /** The extractor's name, e.g. "resnet50-imagenet/avg_pool (2048-d)". */
  extractor: string;
  /** A hash of the extractor's weights (model.json and weight files), or of its settings. */
  weights: string;
  /** Side the images are decoded at before the extractor resizes them to its input. */
  decodeSize: number;
  /** Length of every vector. */
  dim: number;
}

export interface FeatureStoreOptions {
  /** How long `append` waits for another process's append to finish (default 10 min). */
  lockWaitMs?: number;
}

const VECTORS = 'vectors.f32';
const INDEX = 'index.jsonl';
const IDENTITY = 'store.json';
const REBUILD_HINT = 'the store is a cache: delete its folder and extract again';

/**
 * Feature vectors of images, content-addressed: the key of a vector is the SHA-256 of the image
 * file's bytes, so nested synthetic sets, folds, seeds and renamed folders all reuse one vector.
 * On disk, an append-only pack in `dir`: `vectors.f32` (float32, `dim` a vector, in row order) and
 * `index.jsonl` (`{"key": …, "row": n}` a line), written vectors first, so a line never names a
 * vector that is not written. A kill mid-append leaves a partial last line or vectors without lines;
 * `open` cuts both back to the last complete line (under the lock), losing at most that one
 * append. Appends hold the folder's lock, so processes sharing a store (an experiment's parallel jobs) take turns.
 */
export class FeatureStore {
  private constructor(
    readonly dir: string,
    readonly identity: FeatureStoreIdentity,
    private readonly rows: Map<string, number>,
    private vectors: Float32Array,
    private readonly options: FeatureStoreOptions,
  ) {}

  /** Opens (creating if missing) the store in `dir`; refuses a store made with another identity. */
  static async open(
    dir: string,
    identity: FeatureStoreIdentity,
    options: FeatureStoreOptions = {},
  ): Promise<FeatureStore> {
    const abs = resolve(dir);
    await fs.mkdir(abs, { recursive: true });
    const idPath = join(abs, IDENTITY);
    const saved = await readJson(idPath);
    if (saved === undefined) {
      await writeJsonAtomic(idPath, identity);
    } else if (JSON.stringify(saved) !== JSON.stringify(identity)) {
      throw new SkinganError(
        `feature store ${abs} holds vectors of ${JSON.stringify(saved)}, not of ${JSON.stringify(identity)}`,
        {
          file: idPath,
          hint: 'each extractor, weights and decode size has a store of its own: use another folder',
        },
      );
    }
    const store = new FeatureStore(abs, identity, new Map(), new Float32Array(0), options);
    // A torn tail is cut under the lock only: without it, the tail may be another process's
    // append in progress (its vectors written, its lines not yet).
    if (await store.reload(false)) {
      const lock = await store.lock();
      try {
        await store.reload(true);
      } finally {
        await lock.release();
      }
    }
    return store;
  }

  /** Vectors held. */
  get size(): number {
    return this.rows.size;
  }

  has(key: string): boolean {
    return this.rows.has(key);
  }

  /** The vector of `key` (a view into the store: copy it to keep it past the next append). */
  get(key: string): Float32Array | undefined {
    const row = this.rows.get(key);
    if (row === undefined) return undefined;
    const d = this.identity.dim;
    return this.vectors.subarray(row * d, (row + 1) * d);
  }

  /** The keys of `keys` that the store lacks, each once, in order. */
  missing(keys: Iterable<string>): string[] {
    const out = new Set<string>();
    for (const k of keys) if (!this.rows.has(k)) out.add(k);
    return [...out];
  }

  /**
   * Adds vectors (keys already held, by this or another process, are skipped). Waits its turn for
   * the folder's lock, then rereads what other processes appended meanwhile.
   */
  append(entries: readonly { key: string; vector: ArrayLike<number> }[]): Promise<void> {
    // One process shares its own folder lock, so its appends are chained here instead.
    const next = this.appending.then(() => this.appendNow(entries));
    this.appending = next.catch(() => {});
    return next;
  }

  private appending: Promise<void> = Promise.resolve();

  private async appendNow(entries: readonly { key: string; vector: ArrayLike<number> }[]): Promise<void> {
    const d = this.identity.dim;
    for (const e of entries) {
      if (e.vector.length !== d) {
        throw new SkinganError(
          `feature store: the vector of ${e.key} has ${e.vector.length} values, not ${d}`,
        );
      }
      for (let i = 0; i < d; i++) {
        if (!Number.isFinite(e.vector[i]!)) {
          throw new SkinganError(
            `feature store: the vector of ${e.key} is not finite at ${i}: ${e.vector[i]}`,
          );
        }
      }
    }
    const lock = await this.lock();
    try {
      await this.reload(true);
      const fresh = new Map<string, ArrayLike<number>>();
      for (const e of entries) if (!this.rows.has(e.key)) fresh.set(e.key, e.vector);
      if (!fresh.size) return;
      const data = new Float32Array(fresh.size * d);
      let i = 0;
      for (const v of fresh.values()) data.set(Array.from(v), d * i++);
      const first = this.rows.size;
      await appendSynced(join(this.dir, VECTORS), new Uint8Array(data.buffer));
      const lines = [...fresh.keys()].map((key, k) => `${JSON.stringify({ key, row: first + k })}\n`);
      await appendSynced(join(this.dir, INDEX), Buffer.from(lines.join('')));
      await this.reload(true);
    } finally {
      await lock.release();
    }
  }

  /** Index lines read into `rows` (rows of the pack), their bytes, and the vectors' buffer (grown by doubling). */
  private count = 0;
  private indexBytes = 0;
  private indexIno: number | undefined;
  /** The last line read, with its newline. */
  private seam = Buffer.alloc(0);
  private buffer = new Float32Array(0);

  /**
   * Reads what the pack gained since the last read, up to its last complete index line; whether
   * the files run past it (a torn tail). With `repair` (only under the lock) it cuts that tail off:
   * without the lock the tail may be another process's append in progress, and cutting it lost that
   * append. Only the new bytes are read: appends add at the tail, and a cut tail never reaches what
   * was read (each append rereads, so rereading the whole pack made extraction quadratic in the
   * store's size: 450 ms an image at 13,000 vectors against 130 at none). Other files (the folder
   * deleted and extracted again), or shorter ones, are read again whole.
   */
  private async reload(repair: boolean): Promise<boolean> {
    const indexPath = join(this.dir, INDEX);
    const vectorsPath = join(this.dir, VECTORS);
    const d = this.identity.dim;
    const index = await fs.stat(indexPath).catch(notFound(undefined));
    const indexSize = index?.size ?? 0;
    const vecBytes = (await fs.stat(vectorsPath).catch(notFound(undefined)))?.size ?? 0;
    // The same file still ends its read part with the last line read (a file made anew may reuse
    // the inode).
    const seam = await readRange(indexPath, this.indexBytes - this.seam.length, this.indexBytes);
    if (
      index?.ino !== this.indexIno ||
      indexSize < this.indexBytes ||
      vecBytes < this.count * d * 4 ||
      !seam.equals(this.seam)
    ) {
      this.indexIno = index?.ino;
      this.seam = Buffer.alloc(0);
      this.rows.clear();
      this.count = 0;
      this.indexBytes = 0;
    }
    const tail = await readRange(indexPath, this.indexBytes, indexSize);
    const keys: string[] = [];
    let row = this.count;
    let complete = 0; // bytes of the tail up to its last usable line
    const badLine = (what: string) =>
      new SkinganError(`feature store: line ${row + 1} of the index is ${what}`, {
        file: indexPath,
        line: row + 1,
        hint: REBUILD_HINT,
      });
    for (let nl = tail.indexOf(10); nl >= 0; nl = tail.indexOf(10, complete)) {
      let entry: { key?: unknown; row?: unknown };
      try {
        entry = JSON.parse(tail.toString('utf8', complete, nl));
      } catch {
        throw badLine('not JSON');
      }
      if (typeof entry.key !== 'string' || entry.row !== row) throw badLine('not the next row');
      if ((row + 1) * d * 4 > vecBytes) break; // a line whose vector is missing
      keys.push(entry.key);
      row++;
      complete = nl + 1;
    }
    const torn = complete < tail.length || vecBytes > row * d * 4;
    if (repair && complete < tail.length) await fs.truncate(indexPath, this.indexBytes + complete);
    if (repair && vecBytes > row * d * 4) await fs.truncate(vectorsPath, row * d * 4);
    if (keys.length) {
      const bytes = await readRange(vectorsPath, this.count * d * 4, row * d * 4);
      if (this.buffer.length < row * d) {
        const grown = new Float32Array(Math.max(row * d, 2 * this.buffer.length));
        grown.set(this.buffer.subarray(0, this.count * d));
        this.buffer = grown;
      }
      const added = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      this.buffer.set(added, this.count * d);
      for (const [i, k] of keys.entries()) this.rows.set(k, this.count + i);
    }
    this.count = row;
    if (complete) this.seam = Buffer.from(tail.subarray(tail.lastIndexOf(10, complete - 2) + 1, complete));
    this.indexBytes += complete;
    this.vectors = this.buffer.subarray(0, row * d);
    return torn;
  }

  /** The folder lock, retried while another process holds it (its appends are short). */
  private async lock() {
    const deadline = Date.now() + (this.options.lockWaitMs ?? 600_000);
    for (;;) {
      try {
        return await lockFolder(this.dir, { command: 'feature store append', notice: () => {} });
      } catch (err) {
        // Only a lock held elsewhere is waited for; anything else (no permission) is the error. The
        // refusal itself says so: asking for the holder again races with its release.
        const held = err instanceof FolderLockedError || (err as NodeJS.ErrnoException).code === 'EEXIST';
        if (Date.now() > deadline || !held) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
}

async function appendSynced(path: string, data: Uint8Array): Promise<void> {
  const fh = await fs.open(path, 'a');
  try {
    await fh.write(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SkinganError(`feature store: unreadable ${path}: ${(err as Error).message}`, {
      file: path,
      hint: REBUILD_HINT,
      cause: err,
    });
  }
}

/** Bytes [from, to) of a file (fewer where it is shorter; none where it is missing). */
async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  if (to <= from) return Buffer.alloc(0);
  const fh = await fs.open(path, 'r').catch(notFound(undefined));
  if (!fh) return Buffer.alloc(0);
  try {
    const buf = Buffer.alloc(to - from);
    const { bytesRead } = await fh.read(buf, 0, to - from, from);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function notFound<T>(value: T) {
  return (err: NodeJS.ErrnoException): T => {
    if (err.code === 'ENOENT') return value;
    throw err;
  };
}
