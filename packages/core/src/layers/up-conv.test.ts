import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { upConvKernel, upConvTaps, upsample2x } from './up-conv.js';

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

describe('upsample2x and the up-conv taps', () => {
  it('repeats each pixel into a 2×2 block, like resizeNearestNeighbor, and its gradient sums each block', () => {
    // [1, 2, 2, 2]: pixel (i, j) has channels (10i + j, −(10i + j)).
    const x = tf.tensor4d([0, -0, 1, -1, 10, -10, 11, -11], [1, 2, 2, 2]);
    const y = upsample2x(x);
    expect(y.shape).toEqual([1, 4, 4, 2]);
    const channel0 = Array.from(y.dataSync()).filter((_, i) => i % 2 === 0);
    // biome-ignore format: the 4×4 map
    expect(channel0).toEqual([
      0, 0, 1, 1,
      0, 0, 1, 1,
      10, 10, 11, 11,
      10, 10, 11, 11,
    ]);
    const stock = tf.image.resizeNearestNeighbor(x, [4, 4]);
    expect(maxDiff(y, stock)).toBe(0);
    // d/dx of Σ w·y: each input pixel collects the weights of its 2×2 block.
    const w = tf.tensor4d(
      Array.from({ length: 32 }, (_, i) => i),
      [1, 4, 4, 2],
    );
    const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(upsample2x(xx as tf.Tensor4D), w)))(x);
    const wv = w.dataSync();
    const at = (r: number, c: number, ch: number) => wv[(r * 4 + c) * 2 + ch]!;
    const want: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 2; j++)
        for (let ch = 0; ch < 2; ch++)
          want.push(
            at(2 * i, 2 * j, ch) +
              at(2 * i, 2 * j + 1, ch) +
              at(2 * i + 1, 2 * j, ch) +
              at(2 * i + 1, 2 * j + 1, ch),
          );
    expect(Array.from(dx.dataSync())).toEqual(want);
    tf.dispose([x, y, stock, w, dx]);
  });

  it('maps the 3 taps of a conv after upsampling onto 4 taps of a transposed conv: [w2, w1 + w2, w0 + w1, w0]', () => {
    // Even outputs 2m read x[m−1]·w0 + x[m]·(w1 + w2), odd ones x[m]·(w0 + w1) + x[m+1]·w2.
    expect(upConvTaps(3)).toEqual([
      [0, 0, 1],
      [0, 1, 1],
      [1, 1, 0],
      [1, 0, 0],
    ]);
    expect(upConvTaps(1)).toEqual([[1], [1]]);
    // Each phase spreads a conv tap to exactly one transposed-conv tap: every column sums to 2.
    for (const k of [2, 4, 5, 6]) {
      const taps = upConvTaps(k);
      expect(taps).toHaveLength(k % 2 ? k + 1 : k + 2);
      for (let t = 0; t < k; t++) expect(taps.reduce((n, row) => n + row[t]!, 0)).toBe(2);
    }
  });

  it('bilinear: ¾ of the pixel and ¼ of its neighbour on the side of the half-pixel, zeros beyond the edges; the same as resizeBilinear inside', () => {
    const x = tf.tensor4d([0, 4, 8, 16], [1, 1, 4, 1]);
    const y = upsample2x(x, 'bilinear');
    expect(y.shape).toEqual([1, 2, 8, 1]);
    // Row 0 of the upsampled map (rows mix x's row with the zero rows beyond it: ¾ of each value).
    const row = [0, 1, 3, 5, 7, 10, 14, 12].map((v) => v * 0.75);
    expect(Array.from(y.dataSync()).slice(0, 8)).toEqual(row);
    const stock = tf.image.resizeBilinear(x, [2, 8], false, true);
    // Away from the left and right edges, columns match resizeBilinear (times the rows' ¾).
    expect(
      Array.from(stock.dataSync())
        .slice(1, 7)
        .map((v) => v * 0.75),
    ).toEqual(row.slice(1, 7));
    tf.dispose([x, y, stock]);
  });

  it("maps the 3 taps of a conv after bilinear upsampling onto 6 taps of a transposed conv, each tap's weights summing to 2", () => {
    const taps = upConvTaps(3, 'bilinear');
    expect(taps).toHaveLength(6);
    // Tap 1 (the centre) reads, for even outputs, ¾·x[m] + ¼·x[m−1] and for odd ones ¾·x[m] + ¼·x[m+1].
    expect(taps.map((row) => row[1])).toEqual([0, 0.25, 0.75, 0.75, 0.25, 0]);
    for (const k of [1, 2, 3, 4, 5]) {
      const t = upConvTaps(k, 'bilinear');
      for (let c = 0; c < k; c++) expect(t.reduce((n, row) => n + row[c]!, 0)).toBeCloseTo(2, 12);
    }
  });

  it('upConvKernel: the transposed conv of the derived kernel equals upsampling then a zero-padded conv inside the map', () => {
    const x = tf.randomNormal([1, 4, 5, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const kernel = upConvKernel(w, upConvTaps(3));
    expect(kernel.shape).toEqual([4, 4, 3, 2]);
    const ours = tf.conv2dTranspose(x, kernel, [1, 8, 10, 3], 2, 'same');
    const reference = tf.conv2d(upsample2x(x), w, 1, 'same');
    expect(maxDiff(ours, reference)).toBeLessThan(1e-5);
    tf.dispose([x, w, kernel, ours, reference]);
  });
});
