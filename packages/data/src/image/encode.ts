import { extname } from 'node:path';
import { SkinganError, writeFileAtomic } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';

/** An HWC RGB image as bytes. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Maps values in [-1, 1] to bytes (clamped, rounded). */
export function floatToBytes(values: ArrayLike<number>, out = new Uint8Array(values.length)): Uint8Array {
  for (let i = 0; i < values.length; i++) {
    const v = Math.round((values[i]! + 1) * 127.5);
    out[i] = v < 0 ? 0 : Math.min(v, 255);
  }
  return out;
}

/** The bytes of a [H, W, 3] tensor in [-1, 1] (read synchronously; the tensor is not disposed). */
export function tensorToRgb(image: tf.Tensor3D): RgbImage {
  const [height, width, channels] = image.shape;
  if (channels !== 3)
    throw new SkinganError(`expected an RGB image [H, W, 3], got shape [${image.shape.join(', ')}]`, {
      code: 'USAGE',
    });
  return { data: floatToBytes(image.dataSync()), width, height };
}

/** PNG bytes of an image. */
export async function rgbToPng(image: RgbImage, compressionLevel = 6): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png({ compressionLevel })
    .toBuffer();
}

/** JPEG bytes of an image. */
export async function rgbToJpeg(image: RgbImage, quality = 95): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: '4:4:4' })
    .toBuffer();
}

/** A [H, W, 3] tensor in [-1, 1] as PNG bytes. */
export async function tensorToPng(image: tf.Tensor3D): Promise<Buffer> {
  return rgbToPng(tensorToRgb(image));
}

/** A [H, W, 3] tensor in [-1, 1] as JPEG bytes. */
export async function tensorToJpeg(image: tf.Tensor3D, quality = 95): Promise<Buffer> {
  return rgbToJpeg(tensorToRgb(image), quality);
}

/** Writes a [H, W, 3] tensor in [-1, 1] as PNG or JPEG (by extension), atomically. */
export async function writeImage(path: string, image: tf.Tensor3D | RgbImage): Promise<void> {
  const rgb = 'shape' in image ? tensorToRgb(image) : image;
  await writeFileAtomic(path, await encodeByExtension(path, rgb));
}

/** PNG for `.png`, JPEG for `.jpg`/`.jpeg`. */
async function encodeByExtension(path: string, image: RgbImage): Promise<Buffer> {
  const ext = extname(path).toLowerCase();
  if (ext === '.png') return rgbToPng(image);
  if (ext === '.jpg' || ext === '.jpeg') return rgbToJpeg(image);
  throw new SkinganError(`cannot write "${ext}" images; use .png or .jpg`, { code: 'USAGE', file: path });
}
