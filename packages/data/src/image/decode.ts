import { promises as fs } from 'node:fs';
import { cpus } from 'node:os';
import { type Sample, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import sharp, { type Sharp } from 'sharp';
import { mapPool } from '../util/pool.js';

/**
 * Decodes an image file to `size`×`size` RGB bytes (HWC): EXIF orientation applied, alpha dropped,
 * short side resized to `size` with a bicubic kernel, then the center cropped, exactly as PIL /
 * torchvision's `Resize(size) + CenterCrop(size)` does it (same rounding of the resized side and of
 * the crop offset). A file that cannot be decoded (corrupt, truncated, not an image) throws a
 * SkinganError naming it.
 */
export interface DecodeNotes {
  /** Called when the image has pixels that are not fully opaque (they lose their alpha). */
  onTransparent?: () => void;
}

export async function decodeImageBytes(
  path: string,
  size: number,
  notes: DecodeNotes = {},
): Promise<Uint8Array> {
  checkImageSize(size);
  let input: Buffer;
  try {
    input = await fs.readFile(path);
  } catch (e) {
    throw new SkinganError('cannot read image', { code: 'NOT_FOUND', file: path, cause: e });
  }
  try {
    return await resizeCrop(input, size, notes);
  } catch (e) {
    throw decodeError(path, e, input);
  }
}

/** The error for an image sharp cannot decode. */
export function decodeError(path: string, cause: unknown, input?: Uint8Array): SkinganError {
  return new SkinganError(`cannot decode image: ${decodeReason(cause, input)}`, {
    code: 'BAD_INPUT',
    file: path,
    cause,
    hint: 'the file is corrupt, truncated or not a JPEG/PNG: replace it, or remove its row from labels.csv',
  });
}

/**
 * sharp's reason, or (when libvips gives none: "Unknown error", an empty message) what the file's
 * first bytes say it is, so the user learns more than that something failed.
 */
export function decodeReason(cause: unknown, input?: Uint8Array): string {
  if (input?.length === 0) return 'the file is empty (0 bytes)';
  const reason = firstLine(cause).trim();
  if (reason && !/^unknown error\.?$/i.test(reason)) return reason;
  if (!input) return reason || 'no reason given by the decoder';
  const head = [...input.subarray(0, 4)];
  const kind =
    head[0] === 0xff && head[1] === 0xd8
      ? 'a JPEG'
      : head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47
        ? 'a PNG'
        : 'neither a JPEG nor a PNG';
  const hex = head.map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `the decoder gave no reason; the file (${input.length} bytes, starting ${hex}) looks like ${kind}${kind === 'neither a JPEG nor a PNG' ? '' : ' that is damaged or truncated'}`;
}

/** `decodeImageBytes` as float32 HWC in [-1, 1] (x / 127.5 - 1, the thesis' mean = std = 0.5). */
export async function decodeImage(path: string, size: number): Promise<Float32Array> {
  return bytesToFloat(await decodeImageBytes(path, size));
}

/** Maps bytes to [-1, 1] into `out` at `offset` (a new array by default). */
export function bytesToFloat(
  bytes: Uint8Array,
  out = new Float32Array(bytes.length),
  offset = 0,
): Float32Array {
  for (let i = 0; i < bytes.length; i++) out[offset + i] = bytes[i]! / 127.5 - 1;
  return out;
}

export interface LoadImagesOptions {
  /** Images decoded at once; default the number of CPUs. */
  concurrency?: number;
}

/**
 * Decodes images (samples or paths) into one NHWC float32 tensor in [-1, 1], in input order. Any
 * undecodable file throws (a tensor with a hole would misalign labels); batch sources skip instead.
 */
export async function loadImages(
  samplesOrPaths: readonly (Sample | string)[],
  size: number,
  options: LoadImagesOptions = {},
): Promise<tf.Tensor4D> {
  checkImageSize(size);
  const n = samplesOrPaths.length;
  const per = size * size * 3;
  const values = new Float32Array(n * per);
  await mapPool(samplesOrPaths, options.concurrency ?? cpus().length, async (s, i) => {
    const bytes = await decodeImageBytes(typeof s === 'string' ? s : s.path, size);
    bytesToFloat(bytes, values, i * per);
  });
  return tf.tensor4d(values, [n, size, size, 3], 'float32');
}

/**
 * The sharp pipeline of `decodeImageBytes` up to the crop, so callers can end it with `.raw()`,
 * `.png()` or `.jpeg()` without an extra copy.
 */
export async function resizeCropPipeline(
  input: Buffer,
  size: number,
  notes: DecodeNotes = {},
): Promise<Sharp> {
  const image = sharp(input, { failOn: 'truncated' });
  const meta = await image.metadata();
  if (!meta.width || !meta.height) throw new Error('image has no size');
  // Alpha is dropped below: say so when it hid something (only images with an alpha channel pay this).
  if (meta.hasAlpha && notes.onTransparent && meta.channels) {
    const alpha = await sharp(input, { failOn: 'truncated' })
      .extractChannel((meta.channels - 1) as 1 | 2 | 3)
      .stats();
    if ((alpha.channels[0]?.min ?? 255) < 255) notes.onTransparent();
  }
  // Orientations 5–8 swap width and height; the resize below is in displayed (rotated) pixels.
  const swap = (meta.orientation ?? 1) >= 5;
  const w = swap ? meta.height : meta.width;
  const h = swap ? meta.width : meta.height;
  const k = size / Math.min(w, h);
  const rw = Math.max(size, Math.round(w * k));
  const rh = Math.max(size, Math.round(h * k));
  return (
    image
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      // fastShrinkOnLoad off: libjpeg's DCT downscaling then only takes what leaves ≥ 2× for the
      // bicubic step, which keeps results within ~0.3/255 of PIL (vs ~1.4/255 with it on) at no real cost.
      .resize(rw, rh, { fit: 'fill', kernel: 'cubic', fastShrinkOnLoad: false })
      .extract({
        left: Math.floor((rw - size) / 2),
        top: Math.floor((rh - size) / 2),
        width: size,
        height: size,
      })
  );
}

async function resizeCrop(input: Buffer, size: number, notes: DecodeNotes): Promise<Uint8Array> {
  const pipeline = await resizeCropPipeline(input, size, notes);
  const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new Error(`unexpected decode result ${info.width}×${info.height}×${info.channels}`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

export function checkImageSize(size: number): void {
  if (!Number.isInteger(size) || size < 1 || size > 4096) {
    throw new SkinganError(`image size must be an integer in [1, 4096], got ${size}`, { code: 'USAGE' });
  }
}

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0]!;
}
