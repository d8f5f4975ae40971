import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@skingan/core';
import { FileHashCache, loadDataset, loadImages } from '@skingan/data';
import { extractFeatures, FeatureStore, testFeatureExtractor } from '@skingan/metrics';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../test-utils/run-cli.js';
import { testImages } from '../test-utils/shared-data.js';
import { featureRowsByPart, openFeatureSource } from './features.js';

// isic-mini, or the demo set of the same shape (8 classes × 60 images).
const { dir: IMAGES, name } = testImages();

let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skingan-features-cli-'));
  env = { SKINGAN_CACHE: join(dir, 'cache') };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const json = (stdout: string) => JSON.parse(stdout);

describe(`skingan features extract and classifier head (${name})`, () => {
  it('stores one vector per distinct image, once: a rerun and a copied subset extract nothing', async () => {
    const store = join(dir, 'store');
    const first = runCli(
      ['features', 'extract', IMAGES, '--extractor', 'test', '--store', store, '--json'],
      env,
    );
    expect(first.code, first.stderr).toBe(0);
    expect(json(first.stdout)).toMatchObject({ images: 480, extracted: 480, reused: 0, storeSize: 480 });
    const again = runCli(
      ['features', 'extract', IMAGES, '--extractor', 'test', '--store', store, '--json'],
      env,
    );
    expect(json(again.stdout)).toMatchObject({ extracted: 0, reused: 480, storeSize: 480 });
    // The same bytes under other names and another folder: content-addressed, so reused.
    const copy = join(dir, 'copy');
    expect(runCli(['data', 'subset', IMAGES, '--per-class', '3', '--copy', '--out', copy], env).code).toBe(0);
    const c = runCli(['features', 'extract', copy, '--extractor', 'test', '--store', store, '--json'], env);
    expect(json(c.stdout)).toMatchObject({ images: 24, extracted: 0, reused: 24, storeSize: 480 });
    // At another input size: other vectors, so a store of their own (the default one, by identity).
    const small = ['features', 'extract', copy, '--extractor', 'test', '--input-size', '64', '--json'];
    const s64 = json(runCli(small, env).stdout);
    expect(s64).toMatchObject({ extractor: 'test-random-conv (64-d, 64px)', extracted: 24, storeSize: 24 });
    expect(s64.store.startsWith(join(dir, 'cache', 'features'))).toBe(true);
    expect(json(runCli([...small.slice(0, 5), '--json'], env).stdout).store).not.toBe(s64.store);
    const tooSmall = runCli([...small.slice(0, 5), '--input-size', '8'], env);
    expect([tooSmall.code, tooSmall.stderr.includes('--input-size must be at least 32, got 8')]).toEqual([
      2,
      true,
    ]);

    // A stored vector is the extractor's own output for that image decoded at --size (128).
    await initBackend({ log: null });
    const lines = (await readFile(join(IMAGES, 'labels.csv'), 'utf8')).trim().split('\n');
    const id = lines[1]!.split(',')[0]!;
    const file = (await readdir(join(IMAGES, 'images'))).find((f) => f.startsWith(`${id}.`))!;
    const path = join(IMAGES, 'images', file);
    const extractor = testFeatureExtractor();
    const images = await loadImages([path], 128);
    const direct = await extractFeatures(extractor, images);
    images.dispose();
    const opened = await FeatureStore.open(
      store,
      JSON.parse(await readFile(join(store, 'store.json'), 'utf8')),
    );
    const sha = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
    const stored = opened.get(sha)!;
    expect(stored).toHaveLength(direct.cols);
    for (let j = 0; j < direct.cols; j++) expect(stored[j]).toBeCloseTo(direct.data[j]!, 4);
    extractor.dispose();
  });

  it('classifier head: predictions of the test part in predict’s format, the same for the same seed', async () => {
    const split = join(dir, 'split.json');
    expect(runCli(['data', 'split', IMAGES, '--seed', '7', '--out', split], env).code).toBe(0);
    const parts = json(await readFile(split, 'utf8'));
    const args = (out: string, seed: string) => [
      'classifier',
      'head',
      '--data',
      IMAGES,
      '--split',
      split,
      '--extractor',
      'test',
      '--store',
      join(dir, 'store'),
      '--epochs',
      '5',
      '--seed',
      seed,
      '--out',
      out,
      '--json',
    ];
    const a = runCli(args(join(dir, 'h1'), '1'), env);
    expect(a.code, a.stderr).toBe(0);
    const summary = json(a.stdout);
    expect(summary.images).toEqual({
      train: parts.ids.train.length,
      val: parts.ids.val.length,
      test: parts.ids.test.length,
    });
    expect(summary.history.map((h: { weightDecay: number }) => h.weightDecay)).toEqual([1e-4, 1e-3, 1e-2]);
    expect(summary.valBalancedAccuracy).toBeGreaterThan(1 / 8); // above chance on 8 classes
    const csv = (await readFile(join(dir, 'h1', 'predictions.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('image,MEL,NV,BCC,AK,BKL,DF,VASC,SCC');
    expect(
      csv
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
    ).toEqual([...parts.ids.test].sort());
    for (const l of csv.slice(1)) {
      const p = l.split(',').slice(1).map(Number);
      expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
    }
    expect(json(await readFile(join(dir, 'h1', 'head.json'), 'utf8')).weightDecay).toBe(summary.weightDecay);
    expect(runCli(args(join(dir, 'h2'), '1'), env).code).toBe(0);
    expect(await readFile(join(dir, 'h2', 'predictions.csv'), 'utf8')).toBe(
      await readFile(join(dir, 'h1', 'predictions.csv'), 'utf8'),
    );
  });

  it("featureRowsByPart: each part's rows and labels from one hashing pass and one cache save", async () => {
    await initBackend({ log: null });
    const saved = process.env.SKINGAN_CACHE;
    process.env.SKINGAN_CACHE = join(dir, 'cache-parts');
    const hashAll = vi.spyOn(FileHashCache.prototype, 'hashAll');
    const save = vi.spyOn(FileHashCache.prototype, 'save');
    const source = await openFeatureSource({
      extractor: 'test',
      size: 128,
      batchSize: 16,
      store: join(dir, 'store'),
    });
    try {
      const samples = (await loadDataset(IMAGES)).samples;
      const parts = [samples.slice(0, 5), samples.slice(5, 7), samples.slice(7, 10)];
      hashAll.mockClear();
      save.mockClear();
      const {
        parts: rows,
        extracted,
        reused,
      } = await featureRowsByPart(source, parts, {
        label: 'features',
        quiet: true,
      });
      expect(hashAll).toHaveBeenCalledTimes(1);
      expect(save).toHaveBeenCalledTimes(1);
      const distinct = new Set(
        await Promise.all(
          parts.flat().map(async (s) =>
            createHash('sha256')
              .update(await readFile(s.path))
              .digest('hex'),
          ),
        ),
      ).size;
      expect(extracted + reused).toBe(distinct);
      // Asked again, every vector is found in the store.
      expect(await featureRowsByPart(source, parts, { label: 'features', quiet: true })).toMatchObject({
        extracted: 0,
        reused: distinct,
      });
      expect(rows.map((r) => r.labels.length)).toEqual([5, 2, 3]);
      const dim = source.store.identity.dim;
      for (const [p, part] of parts.entries()) {
        expect(Array.from(rows[p]!.labels)).toEqual(part.map((s) => s.label));
        for (const [i, s] of part.entries()) {
          const sha = createHash('sha256')
            .update(await readFile(s.path))
            .digest('hex');
          expect(Array.from(rows[p]!.x.subarray(i * dim, (i + 1) * dim))).toEqual(
            Array.from(source.store.get(sha)!),
          );
        }
      }
    } finally {
      source.dispose();
      hashAll.mockRestore();
      save.mockRestore();
      if (saved === undefined) delete process.env.SKINGAN_CACHE;
      else process.env.SKINGAN_CACHE = saved;
    }
  });

  it('bad flags and a corrupt image: clear errors, the store keeps what was extracted', async () => {
    const bad = runCli(
      [
        'classifier',
        'head',
        '--data',
        IMAGES,
        '--split',
        join(dir, 'split.json'),
        '--out',
        join(dir, 'h3'),
        '--extractor',
        'test',
        '--wd',
        '0.1,x',
      ],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--wd: "x" is not a weight decay ≥ 0');

    const broken = join(dir, 'broken');
    expect(runCli(['data', 'subset', IMAGES, '--per-class', '2', '--copy', '--out', broken], env).code).toBe(
      0,
    );
    // The last image in labels.csv order: its batch is the last one.
    const lastId = (await readFile(join(broken, 'labels.csv'), 'utf8'))
      .trim()
      .split('\n')
      .at(-1)!
      .split(',')[0]!;
    const lastFile = (await readdir(join(broken, 'images'))).find((f) => f.startsWith(`${lastId}.`))!;
    await writeFile(join(broken, 'images', lastFile), 'not an image');
    const store = join(dir, 'store-broken');
    const r = runCli(
      ['features', 'extract', broken, '--extractor', 'test', '--store', store, '--batch-size', '4', '--json'],
      env,
    );
    expect(r.code).toBe(1);
    expect(json(r.stdout).error).toMatchObject({
      code: 'BAD_INPUT',
      file: join(broken, 'images', lastFile),
    });
    expect(json(r.stdout).error.message).toContain('cannot decode image');
    // The batches before the one with the broken file are stored: 16 images, batches of 4.
    const opened = await FeatureStore.open(
      store,
      JSON.parse(await readFile(join(store, 'store.json'), 'utf8')),
    );
    expect(opened.size).toBe(12);
  });
});
