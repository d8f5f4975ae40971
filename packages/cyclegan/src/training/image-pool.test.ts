import { initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImagePool } from './image-pool.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

/** Batches of 1×1×1 "images" whose single value identifies them. */
const img = (...values: number[]) => tf.tensor4d(values, [values.length, 1, 1, 1]);
const ids = (t: tf.Tensor) => Array.from(t.dataSync());

describe('ImagePool', () => {
  it('passes images through while filling, then swaps each with probability ½ (the reference rule)', () => {
    const pool = new ImagePool(3, new Rng(7));
    const out: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const batch = img(i);
      out.push(ids(pool.query(batch)));
      batch.dispose();
    }
    expect(out).toEqual([[0], [1], [2]]);
    // Replay the same draws by hand: p > 0.5 → return stored[k] and store the new image.
    const mirror = new Rng(7);
    const stored = [0, 1, 2];
    let swaps = 0;
    for (let i = 3; i < 200; i++) {
      const batch = img(i);
      const got = ids(pool.query(batch))[0];
      batch.dispose();
      let want = i;
      if (mirror.float() > 0.5) {
        const k = mirror.int(3);
        want = stored[k]!;
        stored[k] = i;
        swaps++;
      }
      expect(got).toBe(want);
    }
    expect(swaps).toBeGreaterThan(70);
    expect(swaps).toBeLessThan(130);
    pool.clear();
  });

  it('keeps its own copies, holds exactly `capacity` tensors, and restores from saved tensors', () => {
    const before = tf.memory().numTensors;
    const pool = new ImagePool(2, new Rng(1));
    for (let i = 0; i < 10; i++) {
      const batch = img(i, i + 100);
      pool.query(batch).dispose();
      batch.dispose();
    }
    expect(tf.memory().numTensors - before).toBe(2);
    const saved = pool.toNamedTensors('pool_A');
    expect(saved.map((s) => s.name)).toEqual(['pool_A/0', 'pool_A/1']);
    const copy = new ImagePool(2, new Rng(1));
    copy.restore(saved);
    expect(copy.toNamedTensors('p').map((s) => ids(s.tensor))).toEqual(saved.map((s) => ids(s.tensor)));
    pool.clear();
    copy.clear();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with capacity 0 returns the batch unchanged', () => {
    const pool = new ImagePool(0, new Rng(1));
    const batch = img(1, 2);
    const out = pool.query(batch);
    expect(ids(out)).toEqual([1, 2]);
    tf.dispose([batch, out]);
  });
});
