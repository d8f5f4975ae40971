import { SkinganError, writeFileAtomic } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import { drawText, GLYPH_HEIGHT, textWidth } from './bitmap-font.js';
import { floatToBytes, type RgbImage, rgbToPng } from './encode.js';

export interface GridOptions {
  /** Rows of the sheet (e.g. one per class). */
  rows: number;
  /** Columns; default ceil(N / rows). Images fill the sheet row by row. */
  cols?: number;
  /** One label per row, drawn left of it (e.g. class names). */
  rowLabels?: readonly string[];
  /** Pixels between images and around the sheet; default 2. */
  padding?: number;
  /** Background and padding colour; default white. */
  background?: readonly [number, number, number];
}

/**
 * Lays out a batch of images ([N, H, W, 3] in [-1, 1]) as a sheet: row by row, with an optional
 * label left of each row. Labels use a built-in bitmap font, so sheets look the same everywhere.
 */
export function gridImage(images: tf.Tensor4D, options: GridOptions): RgbImage {
  const [n, h, w, c] = images.shape;
  if (c !== 3)
    throw new SkinganError(`expected RGB images [N, H, W, 3], got [${images.shape.join(', ')}]`, {
      code: 'USAGE',
    });
  const rows = options.rows;
  const cols = options.cols ?? Math.ceil(n / rows);
  if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(cols) || cols < 1 || rows * cols < n) {
    throw new SkinganError(`a ${rows}×${cols} grid cannot hold ${n} images`, { code: 'USAGE' });
  }
  const labels = options.rowLabels;
  if (labels && labels.length !== rows) {
    throw new SkinganError(`${labels.length} row labels for ${rows} rows`, { code: 'USAGE' });
  }
  const pad = options.padding ?? 2;
  const bg = options.background ?? [255, 255, 255];
  // Font pixels about 1/24 of the image height: labels stay readable at 32² and at 256².
  const scale = Math.max(1, Math.min(4, Math.round(h / 24)));
  const labelWidth = labels?.length ? Math.max(...labels.map((l) => textWidth(l, scale))) + pad : 0;
  const width = pad + labelWidth + cols * (w + pad);
  const height = pad + rows * (h + pad);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i += 3) out.set(bg, i);

  const pixels = floatToBytes(images.dataSync());
  for (let i = 0; i < n; i++) {
    const x0 = pad + labelWidth + (i % cols) * (w + pad);
    const y0 = pad + Math.floor(i / cols) * (h + pad);
    for (let y = 0; y < h; y++) {
      const src = (i * h + y) * w * 3;
      out.set(pixels.subarray(src, src + w * 3), ((y0 + y) * width + x0) * 3);
    }
  }
  labels?.forEach((label, r) => {
    const y = pad + r * (h + pad) + Math.floor((h - GLYPH_HEIGHT * scale) / 2);
    drawText(out, width, label, pad, y, scale, [32, 32, 32]);
  });
  return { data: out, width, height };
}

/** Writes a labelled PNG sample sheet (see `gridImage`), atomically. */
export async function writeGrid(path: string, images: tf.Tensor4D, options: GridOptions): Promise<void> {
  await writeFileAtomic(path, await rgbToPng(gridImage(images, options)));
}
