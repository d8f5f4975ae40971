import { initBackend, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type AugmentParams, augmentImages, drawAugmentParams } from './augment.js';

const identity = (n: number): AugmentParams => ({
  transpose: new Array(n).fill(0),
  boxes: Array.from({ length: n }, () => [0, 0, 1, 1] as [number, number, number, number]),
  brightness: new Array(n).fill(0),
  contrast: new Array(n).fill(1),
  saturation: new Array(n).fill(1),
});

describe('augmentImages', () => {
  // One 3×3 image whose red channel is 0..8 / 10 row by row, so positions are easy to follow.
  const image = new Float32Array(Array.from({ length: 9 }, (_, i) => [i / 10, 0, -0.5]).flat());
  const red = (v: Float32Array) => Array.from(v.filter((_, i) => i % 3 === 0)).map((x) => Math.round(x * 10));

  beforeAll(async () => {
    await initBackend({ backend: 'wasm', log: null });
  });

  it('identity parameters return the image unchanged', () => {
    expect(augmentImages(image, 1, 3, identity(1))).toEqual(image);
  });

  it('flips with reversed boxes and turns a quarter with transpose + flip, exactly', () => {
    const p = identity(1);
    p.boxes = [[0, 1, 1, 0]];
    expect(red(augmentImages(image, 1, 3, p))).toEqual([2, 1, 0, 5, 4, 3, 8, 7, 6]);
    p.transpose = [1];
    p.boxes = [[1, 0, 0, 1]]; // transpose, then flip vertically: a quarter turn counter-clockwise
    expect(red(augmentImages(image, 1, 3, p))).toEqual([2, 5, 8, 1, 4, 7, 0, 3, 6]);
    p.boxes = [[0, 1, 1, 0]]; // transpose, then flip horizontally: clockwise
    expect(red(augmentImages(image, 1, 3, p))).toEqual([6, 3, 0, 7, 4, 1, 8, 5, 2]);
  });

  it('zoom and shift match tf.image.cropAndResize (bilinear) on random images', () => {
    const rng = new Rng(11);
    const n = 6;
    const size = 9;
    const values = new Float32Array(n * size * size * 3).map(() => rng.float() * 2 - 1);
    const p = drawAugmentParams(n, { zoom: 0.3, shift: 0.1, brightness: 0, contrast: 0, saturation: 0 }, rng);
    const ours = augmentImages(values, n, size, p);
    const reference = tf.tidy(() => {
      const x = tf.tensor4d(values, [n, size, size, 3]);
      const t = tf.tensor4d(p.transpose, [n, 1, 1, 1]);
      const xt = tf.add(tf.mul(t, tf.transpose(x, [0, 2, 1, 3])), tf.mul(tf.sub(1, t), x)) as tf.Tensor4D;
      return tf.image
        .cropAndResize(xt, tf.tensor2d(p.boxes), tf.range(0, n, 1, 'int32') as tf.Tensor1D, [size, size])
        .dataSync();
    });
    let maxDiff = 0;
    for (let i = 0; i < ours.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ours[i]! - reference[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('colour jitter: brightness adds, contrast scales around the image mean, saturation around gray; clipped', () => {
    const bright = augmentImages(image, 1, 3, { ...identity(1), brightness: [0.2] });
    expect(bright[2]).toBeCloseTo(-0.3, 6);
    expect(bright[24]).toBeCloseTo(1, 6); // 0.8 + 0.2
    const mean = image.reduce((a, b) => a + b, 0) / image.length;
    const contrast = augmentImages(image, 1, 3, { ...identity(1), contrast: [2] });
    expect(contrast[3]).toBeCloseTo(mean + 2 * (0.1 - mean), 5);
    const gray = augmentImages(image, 1, 3, { ...identity(1), saturation: [0] });
    expect(gray[12]).toBeCloseTo(0.299 * 0.4 + 0.587 * 0 + 0.114 * -0.5, 5);
    expect(gray[13]).toBeCloseTo(gray[12]!, 6);
    expect(Math.max(...augmentImages(image, 1, 3, { ...identity(1), brightness: [5] }))).toBe(1);
  });

  it('draws parameters within the configured ranges, the same for the same seed', () => {
    const a = drawAugmentParams(64, { zoom: 0.2, shift: 0.1, brightness: 0.1 }, new Rng(5));
    expect(drawAugmentParams(64, { zoom: 0.2, shift: 0.1, brightness: 0.1 }, new Rng(5))).toEqual(a);
    for (const [y1, x1, y2, x2] of a.boxes) {
      for (const v of [y1, x1, y2, x2]) {
        expect(v).toBeGreaterThanOrEqual(-1e-12);
        expect(v).toBeLessThanOrEqual(1 + 1e-12);
      }
      expect(Math.abs(y2 - y1)).toBeGreaterThanOrEqual(0.8 - 1e-12);
      expect(Math.abs(y2 - y1)).toBeCloseTo(Math.abs(x2 - x1), 12);
    }
    expect(new Set(a.transpose).size).toBe(2);
    expect(a.brightness.every((b) => Math.abs(b) <= 0.1)).toBe(true);
    const off = drawAugmentParams(
      8,
      { flip: false, rot90: false, zoom: 0, shift: 0, brightness: 0, contrast: 0, saturation: 0 },
      new Rng(5),
    );
    expect(off).toEqual(identity(8));
  });
});
