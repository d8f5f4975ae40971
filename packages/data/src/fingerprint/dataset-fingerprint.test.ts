import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ISIC2019 } from '@skingan/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDataset } from '../dataset/load-dataset.js';
import { HEADER, row, tempDir } from '../test-utils/fixtures.js';
import { FileHashCache, fingerprintDataset, fingerprintSamples } from './dataset-fingerprint.js';

let dir: string;
let cacheFile: string;

/** A tiny dataset: three "images" (the fingerprint reads bytes, it does not decode). */
async function makeSet(name: string, labels = ['MEL', 'NV', 'NV'], prefix = 'img'): Promise<string> {
  const root = join(dir, name);
  await fs.mkdir(join(root, 'images'), { recursive: true });
  await fs.writeFile(
    join(root, 'labels.csv'),
    `${[HEADER, ...labels.map((c, i) => row(`${prefix}${i}`, c))].join('\n')}\n`,
  );
  for (let i = 0; i < labels.length; i++)
    await fs.writeFile(join(root, 'images', `${prefix}${i}.png`), Buffer.from([1, 2, 3, i]));
  return root;
}

const fp = async (root: string | string[]) => (await fingerprintDataset(root, { cacheFile })).hash;

beforeEach(async () => {
  dir = await tempDir('skingan-fp-');
  cacheFile = join(dir, 'cache', 'file-hashes.json');
});
afterEach(async () => {
  await fs.chmod(join(dir, 'a'), 0o755).catch(() => {});
  await fs.rm(dir, { recursive: true, force: true });
});

describe('fingerprintDataset', () => {
  it('same labels and image bytes in two folders give the same fingerprint', async () => {
    const a = await fingerprintDataset(await makeSet('a'), { cacheFile });
    const b = await fingerprintDataset(await makeSet('b'), { cacheFile: false });
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
    expect(a.images).toBe(3);
    expect(a.dirs).toEqual([join(dir, 'a')]);
  });

  it('one label changed gives another fingerprint', async () => {
    const before = await fp(await makeSet('a'));
    const after = await fp(await makeSet('b', ['MEL', 'NV', 'MEL']));
    expect(after).not.toBe(before);
  });

  it('one image byte changed (same size) gives another fingerprint, with the cache warm', async () => {
    const root = await makeSet('a');
    const before = await fp(root);
    await fs.writeFile(join(root, 'images', 'img1.png'), Buffer.from([1, 2, 4, 1]));
    expect(await fp(root)).not.toBe(before);
  });

  it('an image replaced by one of the same size with its mtime restored gives another fingerprint', async () => {
    const root = await makeSet('a');
    const path = join(root, 'images', 'img2.png');
    // A whole second, so that restoring it is exact (a Date would round the file's nanoseconds).
    const mtime = 1_700_000_000;
    await fs.utimes(path, mtime, mtime);
    const before = await fp(root);
    await fs.writeFile(`${path}.new`, Buffer.from([9, 9, 9, 9]));
    await fs.rename(`${path}.new`, path);
    await fs.utimes(path, mtime, mtime);
    const st = await fs.stat(path);
    expect([st.size, st.mtimeMs]).toEqual([4, mtime * 1000]);
    expect(await fp(root)).not.toBe(before);
  });

  it('the same bytes rewritten in place with size and mtime restored are seen too (ctime moves)', async () => {
    const root = await makeSet('a');
    const path = join(root, 'images', 'img0.png');
    const mtime = 1_700_000_000; // a whole second: restored exactly
    await fs.utimes(path, mtime, mtime);
    const before = await fp(root);
    await fs.writeFile(path, Buffer.from([7, 7, 7, 7])); // same inode, same size
    await fs.utimes(path, mtime, mtime);
    expect((await fs.stat(path)).mtimeMs).toBe(mtime * 1000);
    expect(await fp(root)).not.toBe(before);
  });

  it('trusts a cached hash while size, mtime, ctime and inode match: an unchanged file is not read', async () => {
    const root = await makeSet('a');
    const before = await fp(root);
    const cached = JSON.parse(await fs.readFile(cacheFile, 'utf8'));
    const key = join(root, 'images', 'img0.png');
    expect(cached.files[key].sha256).toMatch(/^[0-9a-f]{64}$/);
    // Swap the remembered hash: the next fingerprint uses it, so the file was not read again.
    cached.files[key].sha256 = '0'.repeat(64);
    await fs.writeFile(cacheFile, JSON.stringify(cached));
    expect(await fp(root)).not.toBe(before);
    expect(await fingerprintDataset(root, { cacheFile: false }).then((f) => f.hash)).toBe(before);
  });

  it('a damaged cache file is ignored and replaced; the fingerprint is recomputed', async () => {
    const root = await makeSet('a');
    const before = await fp(root);
    await fs.writeFile(cacheFile, '{"format": "skingan-file-hashes@1", "files": {"x": ');
    expect(await fp(root)).toBe(before);
    const repaired = JSON.parse(await fs.readFile(cacheFile, 'utf8'));
    expect(Object.keys(repaired.files)).toHaveLength(4); // labels.csv + 3 images
    await fs.writeFile(cacheFile, '[1, 2]');
    expect(await fp(root)).toBe(before);
  });

  it('writes nothing into a read-only dataset; the cache lives elsewhere', async () => {
    const root = await makeSet('a');
    const listing = async () => [...(await fs.readdir(root)), ...(await fs.readdir(join(root, 'images')))];
    const names = await listing();
    await fs.chmod(root, 0o555);
    await fs.chmod(join(root, 'images'), 0o555);
    const { hash } = await fingerprintDataset(root, { cacheFile });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await listing()).toEqual(names);
    await fs.chmod(join(root, 'images'), 0o755);
  });

  it('covers each folder of a multi-folder dataset, in order', async () => {
    const a = await makeSet('a');
    const b = await makeSet('b', ['BCC'], 'other');
    expect(await fp([a, b])).not.toBe(await fp([b, a]));
    expect(await fp([a, b])).not.toBe(await fp(a));
  });

  it('FileHashCache.defaultFile is in the user cache folder', () => {
    const saved = { ...process.env };
    try {
      process.env.SKINGAN_CACHE = '';
      process.env.XDG_CACHE_HOME = '/xdg';
      expect(FileHashCache.defaultFile()).toBe('/xdg/skingan/file-hashes.json');
      process.env.SKINGAN_CACHE = '/mine';
      expect(FileHashCache.defaultFile()).toBe('/mine/file-hashes.json');
    } finally {
      process.env.SKINGAN_CACHE = saved.SKINGAN_CACHE ?? '';
      if (saved.SKINGAN_CACHE === undefined) delete process.env.SKINGAN_CACHE;
      if (saved.XDG_CACHE_HOME === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved.XDG_CACHE_HOME;
    }
  });
});

describe('fingerprintSamples', () => {
  it('depends on ids, classes and image bytes, not on the order samples are listed in', async () => {
    const ds = await loadDataset(await makeSet('a'));
    const h = await fingerprintSamples(ds.samples, ds.labelSpace, { cacheFile });
    expect(await fingerprintSamples([...ds.samples].reverse(), ds.labelSpace, { cacheFile })).toBe(h);
    const relabelled = ds.samples.map((s, i) =>
      i === 0 ? { ...s, label: ISIC2019.classes.indexOf('BCC') } : s,
    );
    expect(await fingerprintSamples(relabelled, ds.labelSpace, { cacheFile })).not.toBe(h);
    expect(await fingerprintSamples(ds.samples.slice(1), ds.labelSpace, { cacheFile })).not.toBe(h);
  });
});

describe('FileHashCache.hashAll', () => {
  it("gives each file's SHA-256 in the order asked, remembered only once saved", async () => {
    const root = await makeSet('a', ['MEL', 'NV', 'NV', 'BCC', 'AK', 'DF', 'VASC', 'SCC', 'BKL', 'MEL']);
    const paths = Array.from({ length: 10 }, (_, i) => join(root, 'images', `img${9 - i}.png`));
    const expected = paths.map((_, i) =>
      createHash('sha256')
        .update(Buffer.from([1, 2, 3, 9 - i]))
        .digest('hex'),
    );
    const cache = await FileHashCache.open(cacheFile);
    expect(await cache.hashAll(paths)).toEqual(expected);
    await expect(fs.access(cacheFile)).rejects.toThrow();
    await cache.save();
    const saved = JSON.parse(await fs.readFile(cacheFile, 'utf8'));
    expect(paths.map((p) => saved.files[p].sha256)).toEqual(expected);
    expect(await cache.hashAll([])).toEqual([]);
  });
});
