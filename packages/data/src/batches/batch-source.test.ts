import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { type Batch, initBackend } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { loadDataset } from '../dataset/load-dataset.js';
import type { Problem } from '../problems.js';
import { makeDataset, tempDir } from '../test-utils/fixtures.js';
import { testImages } from '../test-utils/test-data.js';
import { createBatchSource } from './batch-source.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every decode the batch source asks for, as events in order; `idle()` waits for those in flight. */
const decodes = vi.hoisted(() => {
  const events: { kind: 'start' | 'done'; path: string }[] = [];
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  return {
    events,
    started: () => events.filter((e) => e.kind === 'start').map((e) => e.path),
    finished: () => events.filter((e) => e.kind === 'done').map((e) => e.path),
    begin(path: string) {
      events.push({ kind: 'start', path });
      inFlight++;
    },
    end(path: string) {
      events.push({ kind: 'done', path });
      if (--inFlight === 0) for (const w of waiters.splice(0)) w();
    },
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    reset() {
      events.length = 0;
      waiters = [];
    },
  };
});
vi.mock('../image/decode.js', async (original) => {
  const real = await original<typeof import('../image/decode.js')>();
  return {
    ...real,
    decodeImageBytes: async (path: string, size: number) => {
      decodes.begin(path);
      try {
        return await real.decodeImageBytes(path, size);
      } finally {
        decodes.end(path);
      }
    },
  };
});

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

  it('decodes ahead: with prefetch the next batches are decoded while the trainer holds this one', async () => {
    // Cache off, so every batch is decoded. The trainer "works" on each batch until no decode is in
    // flight (event order, not time): with prefetch the next batch is then decoded before it is asked
    // for; without, none of it is.
    const ahead = join(dir, 'ahead');
    await makeDataset(
      ahead,
      Array.from({ length: 40 }, (_, i) => ({ id: `a${i}`, className: 'NV' })),
    );
    const many = (await loadDataset(ahead)).samples;
    const pathOf = new Map(many.map((s) => [s.id, s.path]));
    const trace = async (prefetch: number) => {
      const source = createBatchSource(many, {
        imageSize: 4,
        batchSize: 8,
        seed: 1,
        prefetch,
        cacheBytes: 0,
      });
      decodes.reset();
      const atHandOut: number[] = []; // decodes started when each batch reaches the trainer
      const readyWhenAsked: boolean[] = []; // every image of the batch decoded before it was asked for
      const it = source.epoch(0)[Symbol.asyncIterator]();
      let finishedBefore = decodes.finished();
      for (let r = await it.next(); !r.done; r = await it.next()) {
        const b = r.value;
        readyWhenAsked.push(b.ids.every((id) => finishedBefore.includes(pathOf.get(id)!)));
        atHandOut.push(decodes.started().length);
        tf.dispose([b.images, b.labels]);
        await decodes.idle(); // the trainer's step, as long as decoding takes
        finishedBefore = decodes.finished();
      }
      return { atHandOut, readyWhenAsked };
    };
    // 5 batches of 8. With prefetch 2, batch k reaches the trainer with batches k+1 and k+2 started.
    const withPrefetch = await trace(2);
    expect(withPrefetch.atHandOut).toEqual([24, 32, 40, 40, 40]);
    expect(withPrefetch.readyWhenAsked).toEqual([false, true, true, true, true]);
    // Without, nothing is decoded before it is asked for: the trainer waits for every batch.
    const onDemand = await trace(0);
    expect(onDemand.atHandOut).toEqual([8, 16, 24, 32, 40]);
    expect(onDemand.readyWhenAsked).toEqual([false, false, false, false, false]);
  });

  it(`${testImages().name} 64², batch 32: from epoch 2 on no image is decoded again, tensors flat over 5 epochs`, async () => {
    const mini = testImages();
    const ds = await loadDataset(mini.dir);
    const source = createBatchSource(ds.samples, {
      imageSize: 64,
      batchSize: 32,
      seed: 7,
      labelSpace: ds.labelSpace,
    });
    const before = tf.memory().numTensors;
    decodes.reset();
    const decodedBy: number[] = []; // decodes started by the end of each epoch
    for (let e = 0; e < 5; e++) {
      let batches = 0;
      for await (const b of source.epoch(e)) {
        expect(b.images.shape).toEqual([b.ids.length, 64, 64, 3]);
        tf.dispose([b.images, b.labels]);
        batches++;
      }
      expect(batches).toBe(15);
      decodedBy.push(decodes.started().length);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(source.cachedBytes).toBe(480 * 64 * 64 * 3);
    // Epoch 1 decodes each image once; later epochs are served from the cache, ready when asked.
    expect(decodedBy).toEqual([480, 480, 480, 480, 480]);
    expect(new Set(decodes.started()).size).toBe(480);
  });
});
