import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { type Batch, initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../dataset/load-dataset.js';
import type { Problem } from '../problems.js';
import {
  HAVE_ISIC_MINI,
  ISIC_MINI,
  MISSING_DATA,
  makeDataset,
  tempDir,
  writeTestImage,
} from '../test-utils/fixtures.js';
import { createBatchSource } from './batch-source.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads an epoch into plain values and disposes every tensor. */
async function collect(
  epoch: AsyncIterable<Batch>,
): Promise<{ ids: string[]; labels: number[]; pixels: number[] }[]> {
  const out = [];
  for await (const b of epoch) {
    out.push({ ids: b.ids, labels: [...(await b.labels.data())], pixels: [...(await b.images.data())] });
    expect(b.images.shape.slice(1)).toEqual([4, 4, 3]);
    expect(b.labels.dtype).toBe('int32');
    tf.dispose([b.images, b.labels]);
  }
  return out;
}

describe('createBatchSource', () => {
  let dir: string;
  let samples: Awaited<ReturnType<typeof loadDataset>>['samples'];
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
    dir = await tempDir();
    await makeDataset(
      join(dir, 'ds'),
      Array.from({ length: 10 }, (_, i) => ({ id: `i${i}`, className: i < 7 ? 'NV' : 'MEL' })),
      6,
    );
    samples = (await loadDataset(join(dir, 'ds'))).samples;
  });

  it('covers every sample once per epoch in batches, with labels matching ids', async () => {
    const source = createBatchSource(samples, { imageSize: 4, batchSize: 4, seed: 1 });
    expect([source.size, source.batchSize, source.stepsPerEpoch]).toEqual([10, 4, 3]);
    const batches = await collect(source.epoch(0));
    expect(batches.map((b) => b.ids.length)).toEqual([4, 4, 2]);
    const ids = batches.flatMap((b) => b.ids);
    expect([...ids].sort()).toEqual(samples.map((s) => s.id).sort());
    const labelOf = new Map(samples.map((s) => [s.id, s.label]));
    expect(batches.flatMap((b) => b.labels)).toEqual(ids.map((id) => labelOf.get(id)));
    const dropLast = createBatchSource(samples, { imageSize: 4, batchSize: 4, seed: 1, dropLast: true });
    expect((await collect(dropLast.epoch(0))).map((b) => b.ids.length)).toEqual([4, 4]);
  });

  it('same seed and epoch give the same batches (augmented pixels included); epochs differ', async () => {
    const opts = { imageSize: 4, batchSize: 4, seed: 9, augment: true } as const;
    const a = await collect(createBatchSource(samples, opts).epoch(3));
    const b = await collect(createBatchSource(samples, opts).epoch(3));
    expect(b).toEqual(a);
    const c = await collect(createBatchSource(samples, opts).epoch(4));
    expect(c.flatMap((x) => x.ids)).not.toEqual(a.flatMap((x) => x.ids));
    const plain = await collect(createBatchSource(samples, { ...opts, augment: false }).epoch(3));
    expect(plain.flatMap((x) => x.ids)).toEqual(a.flatMap((x) => x.ids));
    expect(plain[0]!.pixels).not.toEqual(a[0]!.pixels);
  });

  it('skipBatches resumes mid-epoch with exactly the remaining batches', async () => {
    const opts = { imageSize: 4, batchSize: 3, seed: 2, augment: { zoom: 0.2 } };
    const full = await collect(createBatchSource(samples, opts).epoch(1));
    const rest = await collect(createBatchSource(samples, opts).epoch(1, { skipBatches: 2 }));
    expect(rest).toEqual(full.slice(2));
  });

  it('shuffle off keeps the sample order; balanced draws classes evenly', async () => {
    const ordered = await collect(
      createBatchSource(samples, { imageSize: 4, batchSize: 5, seed: 1, shuffle: false }).epoch(0),
    );
    expect(ordered.flatMap((b) => b.ids)).toEqual(samples.map((s) => s.id));
    let mel = 0;
    const balanced = createBatchSource(samples, { imageSize: 4, batchSize: 10, seed: 1, balanced: true });
    for (let e = 0; e < 20; e++)
      for (const b of await collect(balanced.epoch(e))) mel += b.ids.filter((id) => id >= 'i7').length;
    expect(mel / 200).toBeGreaterThan(0.4); // 3 of 10 images are MEL: 0.3 unbalanced, 0.5 balanced
    expect(mel / 200).toBeLessThan(0.6);
  });

  it('skips an undecodable image with one problem report, or fails under strict', async () => {
    const broken = join(dir, 'broken.png');
    await fs.writeFile(broken, 'not a png');
    const withBad = [...samples.slice(0, 3), { id: 'bad', label: 0, path: broken }];
    const problems: Problem[] = [];
    const source = createBatchSource(withBad, {
      imageSize: 4,
      batchSize: 4,
      seed: 1,
      onProblem: (p) => problems.push(p),
    });
    for (let e = 0; e < 2; e++) {
      const [batch] = await collect(source.epoch(e));
      expect(batch!.ids).toHaveLength(3);
      expect(batch!.ids).not.toContain('bad');
    }
    expect(problems).toEqual([
      {
        file: broken,
        id: 'bad',
        message: 'cannot decode image: Input buffer contains unsupported image format (skipped)',
      },
    ]);
    expect(source.problems).toEqual(problems);
    const strict = createBatchSource(withBad, { imageSize: 4, batchSize: 4, seed: 1, strict: true });
    await expect(collect(strict.epoch(0))).rejects.toThrow(`${broken}: cannot decode image`);
  });

  it('leaks no tensor when the consumer stops early', async () => {
    const source = createBatchSource(samples, {
      imageSize: 4,
      batchSize: 2,
      seed: 1,
      prefetch: 3,
      augment: true,
    });
    const before = tf.memory().numTensors;
    for (let e = 0; e < 3; e++) {
      for await (const b of source.epoch(e)) {
        tf.dispose([b.images, b.labels]);
        break;
      }
    }
    await sleep(50); // let the abandoned prefetches settle
    expect(tf.memory().numTensors).toBe(before);
  });

  it('decodes ahead: with prefetch the trainer no longer waits for decoding', async () => {
    // Cache off, so every batch is decoded; a trainer slower than decoding should then never wait
    // after the first batch, while without prefetch it waits for every decode.
    const big = join(dir, 'big');
    await fs.mkdir(big);
    const many = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const path = join(big, `b${i}.jpg`);
        await writeTestImage(path, 320, 240, (x, y) => [(x * i) % 256, (y * 3) % 256, (x + y) % 256]);
        return { id: `b${i}`, label: 0, path };
      }),
    );
    const waits = async (prefetch: number) => {
      const source = createBatchSource(many, {
        imageSize: 32,
        batchSize: 8,
        seed: 1,
        prefetch,
        cacheBytes: 0,
      });
      const w: number[] = [];
      let t = performance.now();
      for await (const b of source.epoch(0)) {
        w.push(performance.now() - t);
        tf.dispose([b.images, b.labels]);
        await sleep(60);
        t = performance.now();
      }
      return w.slice(1).sort((a, b) => a - b);
    };
    const ahead = await waits(2);
    const onDemand = await waits(0);
    const median = (xs: number[]) => xs[xs.length >> 1]!;
    expect(median(ahead)).toBeLessThan(median(onDemand) / 2);
  });

  it.skipIf(!HAVE_ISIC_MINI)(
    `isic-mini 64², batch 32: keeps a 5 ms/step trainer fed, tensors flat over 5 epochs ${HAVE_ISIC_MINI ? '' : MISSING_DATA}`,
    async () => {
      const ds = await loadDataset(ISIC_MINI);
      const source = createBatchSource(ds.samples, {
        imageSize: 64,
        batchSize: 32,
        seed: 7,
        labelSpace: ds.labelSpace,
      });
      const before = tf.memory().numTensors;
      const waits: number[][] = [];
      for (let e = 0; e < 5; e++) {
        const w: number[] = [];
        let t = performance.now();
        for await (const b of source.epoch(e)) {
          w.push(performance.now() - t);
          expect(b.images.shape).toEqual([b.ids.length, 64, 64, 3]);
          tf.dispose([b.images, b.labels]);
          await sleep(5);
          t = performance.now();
        }
        expect(w).toHaveLength(15);
        waits.push(w);
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(source.cachedBytes).toBe(480 * 64 * 64 * 3);
      // Epoch 1 decodes (bounded by the CPUs); from epoch 2 on batches are ready when asked.
      const later = waits
        .slice(1)
        .flat()
        .sort((a, b) => a - b);
      const waited = later.reduce((a, b) => a + b, 0);
      expect(later[later.length >> 1]).toBeLessThan(3);
      expect(waited).toBeLessThan(later.length * 5); // waiting less than the trainer works
    },
  );
});
