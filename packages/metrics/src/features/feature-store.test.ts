import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FeatureStore, type FeatureStoreIdentity } from './feature-store.js';

const identity: FeatureStoreIdentity = { extractor: 'toy', weights: 'w1', decodeSize: 8, dim: 3 };

describe('FeatureStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'skingan-fstore-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('keeps vectors by key across reopenings, each key once', async () => {
    const a = await FeatureStore.open(dir, identity);
    await a.append([
      { key: 'k1', vector: [1, 2, 3] },
      { key: 'k2', vector: [4, 5, 6] },
    ]);
    await a.append([
      { key: 'k2', vector: [9, 9, 9] }, // held already: not replaced
      { key: 'k3', vector: [0.5, -1, 7] },
    ]);
    expect(a.size).toBe(3);
    expect(a.missing(['k1', 'k4', 'k4', 'k5'])).toEqual(['k4', 'k5']);
    const b = await FeatureStore.open(dir, identity);
    expect(b.size).toBe(3);
    expect(Array.from(b.get('k2')!)).toEqual([4, 5, 6]);
    expect(Array.from(b.get('k3')!)).toEqual([0.5, -1, 7]);
    expect(b.get('nope')).toBeUndefined();
    expect((await fs.stat(join(dir, 'vectors.f32'))).size).toBe(3 * 3 * 4);
  });

  it('appends started together in one process all land', async () => {
    const a = await FeatureStore.open(dir, identity);
    await Promise.all(Array.from({ length: 5 }, (_, i) => a.append([{ key: `k${i}`, vector: [i, i, i] }])));
    const b = await FeatureStore.open(dir, identity);
    expect(b.size).toBe(5);
    for (let i = 0; i < 5; i++) expect(Array.from(b.get(`k${i}`)!)).toEqual([i, i, i]);
  });

  it("sees another store object's appends (as another process's), through many appends and a replaced folder", async () => {
    const a = await FeatureStore.open(dir, identity);
    const b = await FeatureStore.open(dir, identity);
    // Appends that grow the vectors' buffer many times, from both objects in turns: each reads
    // only what the other added since.
    for (let i = 0; i < 40; i++) {
      await (i % 2 ? b : a).append([{ key: `k${i}`, vector: [i, -i, i / 2] }]);
    }
    await a.append([{ key: 'last', vector: [1, 1, 1] }]);
    for (const s of [a, b]) {
      // b holds a's last append once it appends (or reopens); a holds all.
      if (s === b) await b.append([{ key: 'k0', vector: [0, 0, 0] }]);
      expect(s.size).toBe(41);
      for (let i = 0; i < 40; i++) expect(Array.from(s.get(`k${i}`)!)).toEqual([i, -i, i / 2]);
    }
    expect((await fs.stat(join(dir, 'vectors.f32'))).size).toBe(41 * 3 * 4);
    // The folder deleted and extracted again, with other vectors: read again whole, not from the
    // offset of the old files.
    await fs.rm(dir, { recursive: true });
    const c = await FeatureStore.open(dir, identity);
    await c.append(Array.from({ length: 45 }, (_, i) => ({ key: `n${i}`, vector: [i, i, i] })));
    await a.append([{ key: 'after', vector: [2, 2, 2] }]);
    expect(a.has('k0')).toBe(false);
    expect(a.size).toBe(46);
    expect(Array.from(a.get('n44')!)).toEqual([44, 44, 44]);
    expect(Array.from(a.get('after')!)).toEqual([2, 2, 2]);
  });

  it('cuts a torn tail (a partial line, vectors without lines) back to the last complete line', async () => {
    const a = await FeatureStore.open(dir, identity);
    await a.append([
      { key: 'k1', vector: [1, 2, 3] },
      { key: 'k2', vector: [4, 5, 6] },
    ]);
    // A kill mid-append: a third vector and half of its line were written.
    await fs.appendFile(join(dir, 'vectors.f32'), new Uint8Array(new Float32Array([7, 8, 9]).buffer));
    await fs.appendFile(join(dir, 'index.jsonl'), '{"key":"k3","ro');
    const b = await FeatureStore.open(dir, identity);
    expect(b.size).toBe(2);
    expect(b.has('k3')).toBe(false);
    expect((await fs.stat(join(dir, 'vectors.f32'))).size).toBe(2 * 3 * 4);
    expect(await fs.readFile(join(dir, 'index.jsonl'), 'utf8')).toBe(
      '{"key":"k1","row":0}\n{"key":"k2","row":1}\n',
    );
    await b.append([{ key: 'k3', vector: [7, 8, 9] }]);
    expect(Array.from((await FeatureStore.open(dir, identity)).get('k3')!)).toEqual([7, 8, 9]);
  });

  it('drops a line whose vector was never written (a cut vectors file)', async () => {
    const a = await FeatureStore.open(dir, identity);
    await a.append([
      { key: 'k1', vector: [1, 2, 3] },
      { key: 'k2', vector: [4, 5, 6] },
    ]);
    await fs.truncate(join(dir, 'vectors.f32'), 3 * 4 + 5);
    const b = await FeatureStore.open(dir, identity);
    expect(b.size).toBe(1);
    expect(Array.from(b.get('k1')!)).toEqual([1, 2, 3]);
    expect((await fs.stat(join(dir, 'vectors.f32'))).size).toBe(3 * 4);
  });

  it('refuses another identity, a wrong length, a non-finite value and a damaged index', async () => {
    const a = await FeatureStore.open(dir, identity);
    await expect(FeatureStore.open(dir, { ...identity, weights: 'w2' })).rejects.toThrow(
      /holds vectors of .*"weights":"w1".*not of .*"weights":"w2"/,
    );
    await expect(a.append([{ key: 'x', vector: [1, 2] }])).rejects.toThrow(
      'feature store: the vector of x has 2 values, not 3',
    );
    await expect(a.append([{ key: 'x', vector: [1, Number.NaN, 2] }])).rejects.toThrow(
      'feature store: the vector of x is not finite at 1: NaN',
    );
    expect(a.size).toBe(0);
    await fs.writeFile(join(dir, 'index.jsonl'), 'garbage\n');
    await expect(FeatureStore.open(dir, identity)).rejects.toThrow(
      'feature store: line 1 of the index is not JSON',
    );
  });
});
