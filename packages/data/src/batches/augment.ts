import type { Rng } from '@skingan/core';

/**
 * Random augmentations for dermoscopic images, which have no "up": every flip and quarter turn is
 * as plausible as the original. Zoom and shift crop inside the image (never padding), colour jitter
 * is small. Values are maxima; 0 or false turns a part off.
 */
export interface AugmentConfig {
  /** Random horizontal flips. Default true. */
  flip?: boolean;
  /** Random multiples of 90° (with `flip`, all eight symmetries of the square). Default true. */
  rot90?: boolean;
  /** Zoom in by up to this fraction of the side (0.1: crops of 90–100 %). Default 0.1. */
  zoom?: number;
  /** Move the crop by up to this fraction of the side, within the margin the zoom leaves. Default 0.05. */
  shift?: number;
  /** Add up to ± this to all channels (images are in [-1, 1]). Default 0.1. */
  brightness?: number;
  /** Scale the distance to the image mean by 1 ± up to this. Default 0.1. */
  contrast?: number;
  /** Scale the distance to the pixel's gray by 1 ± up to this. Default 0.1. */
  saturation?: number;
}

export const DEFAULT_AUGMENT: Readonly<Required<AugmentConfig>> = Object.freeze({
  flip: true,
  rot90: true,
  zoom: 0.1,
  shift: 0.05,
  brightness: 0.1,
  contrast: 0.1,
  saturation: 0.1,
});

/** Per-image parameters drawn for one batch (exported for tests). */
export interface AugmentParams {
  transpose: number[];
  /** Crop boxes [y1, x1, y2, x2] (normalized); y1 > y2 flips vertically, x1 > x2 horizontally. */
  boxes: [number, number, number, number][];
  brightness: number[];
  contrast: number[];
  saturation: number[];
}

/** Draws one batch's parameters from `rng` (a fixed number of draws per image, whatever the config). */
export function drawAugmentParams(n: number, config: AugmentConfig, rng: Rng): AugmentParams {
  const c = { ...DEFAULT_AUGMENT, ...config };
  const p: AugmentParams = { transpose: [], boxes: [], brightness: [], contrast: [], saturation: [] };
  const sym = (x: number, max: number): number => (max > 0 ? (2 * x - 1) * max : 0);
  for (let i = 0; i < n; i++) {
    const u = Array.from({ length: 9 }, () => rng.float());
    // A quarter turn k is a transpose plus flips: k=1 transpose+flipV, k=2 flipH+flipV, k=3 transpose+flipH.
    const k = c.rot90 ? Math.floor(u[0]! * 4) : 0;
    let flipH = k === 2 || k === 3;
    const flipV = k === 1 || k === 2;
    if (c.flip && u[1]! < 0.5) flipH = !flipH;
    const side = 1 - Math.max(0, c.zoom) * u[2]!;
    const margin = (1 - side) / 2;
    const reach = Math.min(Math.max(0, c.shift), margin);
    const cy = 0.5 + sym(u[3]!, reach);
    const cx = 0.5 + sym(u[4]!, reach);
    let [y1, y2, x1, x2] = [cy - side / 2, cy + side / 2, cx - side / 2, cx + side / 2];
    if (flipV) [y1, y2] = [y2, y1];
    if (flipH) [x1, x2] = [x2, x1];
    p.transpose.push(k === 1 || k === 3 ? 1 : 0);
    p.boxes.push([y1, x1, y2, x2]);
    p.brightness.push(sym(u[5]!, c.brightness));
    p.contrast.push(1 + sym(u[6]!, c.contrast));
    p.saturation.push(1 + sym(u[7]!, c.saturation));
    // u[8] is reserved so adding an augmentation later does not shift the stream of older ones.
  }
  return p;
}

/**
 * Applies drawn parameters to `n` square `size`×`size` RGB images (HWC, values in [-1, 1], packed in
 * `values`) and returns new values. Geometry follows `tf.image.cropAndResize` (bilinear, box corners
 * on pixel centres, after an optional transpose), so identity, flips and quarter turns are exact.
 * Plain JavaScript on the batch's arrays: on the WASM backend this is ~10× faster than the same
 * ops as tensors, runs while the batch is prefetched, and creates no tensor to leak.
 */
export function augmentImages(values: Float32Array, n: number, size: number, p: AugmentParams): Float32Array {
  const per = size * size * 3;
  if (values.length !== n * per)
    throw new Error(`augmentImages: ${values.length} values for ${n} images of ${size}²`);
  const out = new Float32Array(values.length);
  const last = size - 1;
  const xa = new Int32Array(size);
  const xb = new Int32Array(size);
  const wx = new Float64Array(size);
  for (let k = 0; k < n; k++) {
    const src = values.subarray(k * per, (k + 1) * per);
    const dst = out.subarray(k * per, (k + 1) * per);
    const [y1, x1, y2, x2] = p.boxes[k]!;
    const transpose = p.transpose[k] === 1;
    // Strides of the (possibly transposed) source: T[y][x] = X[x][y].
    const sy = transpose ? 3 : size * 3;
    const sx = transpose ? size * 3 : 3;
    // Column taps are the same for every row: compute them once per image.
    for (let j = 0; j < size; j++) {
      const fx = x1 * last + j * (x2 - x1);
      const x0 = Math.min(last, Math.max(0, Math.floor(fx)));
      xa[j] = x0 * sx;
      xb[j] = Math.min(last, x0 + 1) * sx;
      wx[j] = fx - x0;
    }
    for (let i = 0; i < size; i++) {
      const fy = y1 * last + i * (y2 - y1);
      const y0 = Math.min(last, Math.max(0, Math.floor(fy)));
      const ya = y0 * sy;
      const yb = Math.min(last, y0 + 1) * sy;
      const wy = fy - y0;
      let o = i * size * 3;
      for (let j = 0; j < size; j++, o += 3) {
        const a = ya + xa[j]!;
        const b = ya + xb[j]!;
        const c = yb + xa[j]!;
        const d = yb + xb[j]!;
        const w = wx[j]!;
        for (let ch = 0; ch < 3; ch++) {
          const top = src[a + ch]! + (src[b + ch]! - src[a + ch]!) * w;
          const bottom = src[c + ch]! + (src[d + ch]! - src[c + ch]!) * w;
          dst[o + ch] = top + (bottom - top) * wy;
        }
      }
    }
    jitterColour(dst, p.brightness[k]!, p.contrast[k]!, p.saturation[k]!);
  }
  return out;
}

/** x + b; then (x − image mean)·c + mean; then (x − pixel gray)·s + gray; clipped to [-1, 1]. */
function jitterColour(x: Float32Array, brightness: number, contrast: number, saturation: number): void {
  if (brightness === 0 && contrast === 1 && saturation === 1) return;
  let mean = 0;
  if (contrast !== 1) {
    for (let i = 0; i < x.length; i++) mean += x[i]!;
    mean = mean / x.length + brightness;
  }
  for (let i = 0; i < x.length; i += 3) {
    let r = x[i]! + brightness;
    let g = x[i + 1]! + brightness;
    let b = x[i + 2]! + brightness;
    if (contrast !== 1) {
      r = (r - mean) * contrast + mean;
      g = (g - mean) * contrast + mean;
      b = (b - mean) * contrast + mean;
    }
    if (saturation !== 1) {
      const gray = 0.299 * r + 0.587 * g + 0.114 * b;
      r = (r - gray) * saturation + gray;
      g = (g - gray) * saturation + gray;
      b = (b - gray) * saturation + gray;
    }
    x[i] = r < -1 ? -1 : Math.min(r, 1);
    x[i + 1] = g < -1 ? -1 : Math.min(g, 1);
    x[i + 2] = b < -1 ? -1 : Math.min(b, 1);
  }
}
