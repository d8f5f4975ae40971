import type { Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { DIFF_AUGMENT_POLICIES, type DiffAugmentPolicy } from '../config.js';

/**
 * DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"):
 * the same random, differentiable transforms on every image the discriminator sees, real or fake,
 * so D cannot overfit a small training set and G still gets gradients through them. Follows the
 * reference implementation: `color` = brightness ± 0.5, saturation × [0, 2), contrast × [0.5, 1.5);
 * `translation` = integer shifts of up to 1/8 of the side with zero fill; `cutout` = a zeroed
 * square of half the side. Random parameters are drawn per image from `rng` (in a fixed order,
 * whatever the order of `policies`), so a seeded run is reproducible on every backend.
 */
export function diffAugment(x: tf.Tensor4D, policies: readonly DiffAugmentPolicy[], rng: Rng): tf.Tensor4D {
  if (policies.length === 0) return x;
  return tf.tidy(() => {
    let y = x;
    for (const p of DIFF_AUGMENT_POLICIES) {
      if (!policies.includes(p)) continue;
      if (p === 'color') y = color(y, rng);
      else if (p === 'translation') y = translation(y, rng);
      else y = cutout(y, rng);
    }
    return y;
  });
}

function perImage(rng: Rng, n: number, f: (u: number) => number): tf.Tensor4D {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = f(rng.float());
  return tf.tensor4d(v, [n, 1, 1, 1]);
}

function color(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const n = x.shape[0];
  const brightness = perImage(rng, n, (u) => u - 0.5);
  const saturation = perImage(rng, n, (u) => u * 2);
  const contrast = perImage(rng, n, (u) => u + 0.5);
  let y = tf.add(x, brightness);
  const pixelMean = tf.mean(y, 3, true);
  y = tf.add(tf.mul(tf.sub(y, pixelMean), saturation), pixelMean);
  const imageMean = tf.mean(y, [1, 2, 3], true);
  return tf.add(tf.mul(tf.sub(y, imageMean), contrast), imageMean);
}

/** Maximum shift in pixels for a side of `size` (as in the reference: round(size / 8)). */
export const maxShift = (size: number): number => roundedFraction(size, 0.125);

/** Side of the cutout square for a side of `size` (round(size / 2)). */
export const cutoutSize = (size: number): number => roundedFraction(size, 0.5);

/** round(size · fraction), halves up, as the reference's int(size · fraction + 0.5). */
function roundedFraction(size: number, fraction: number): number {
  return Math.floor(size * fraction + 0.5);
}

function translation(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const [sh, sw] = [maxShift(h), maxShift(w)];
  const shifts = Array.from(
    { length: n },
    () => [rng.int(2 * sh + 1) - sh, rng.int(2 * sw + 1) - sw] as const,
  );
  // out[i, j] = x[i + dy, j + dx], zero outside: a slice of the zero-padded batch per image
  // (slice and pad have gradients on every backend, unlike gather).
  const padded = tf.pad(x, [
    [0, 0],
    [sh, sh],
    [sw, sw],
    [0, 0],
  ]);
  const parts = shifts.map(([dy, dx], b) => tf.slice(padded, [b, sh + dy, sw + dx, 0], [1, h, w, -1]));
  return tf.concat(parts, 0) as tf.Tensor4D;
}

function cutout(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const [ch, cw] = [cutoutSize(h), cutoutSize(w)];
  const mask = new Float32Array(n * h * w).fill(1);
  for (let b = 0; b < n; b++) {
    // Centre anywhere in the image (the square may hang over the border), as in the reference.
    const cy = rng.int(h + (1 - (ch % 2)));
    const cx = rng.int(w + (1 - (cw % 2)));
    const y0 = Math.max(0, cy - (ch >> 1));
    const y1 = Math.min(h, cy - (ch >> 1) + ch);
    const x0 = Math.max(0, cx - (cw >> 1));
    const x1 = Math.min(w, cx - (cw >> 1) + cw);
    for (let i = y0; i < y1; i++) mask.fill(0, b * h * w + i * w + x0, b * h * w + i * w + Math.max(x0, x1));
  }
  return tf.mul(x, tf.tensor4d(mask, [n, h, w, 1]));
}
