import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { crc32 } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * Decodes an 8-bit, non-interlaced RGB or RGBA PNG to RGB bytes (tests only: the classifier
 * package does not read images; @skingan/data does, and models never import it).
 */
function decodePng(bytes: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  while (off < bytes.length) {
    const len = view.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    const data = bytes.subarray(off + 8, off + 8 + len);
    if (crc32(bytes.subarray(off + 4, off + 8 + len)) !== view.getUint32(off + 8 + len))
      throw new Error(`PNG: bad CRC in ${type}`);
    if (type === 'IHDR') {
      width = view.getUint32(off + 8);
      height = view.getUint32(off + 12);
      const [depth, color, , , interlace] = data.subarray(8, 13);
      if (depth !== 8 || interlace !== 0 || (color !== 2 && color !== 6))
        throw new Error('PNG: only 8-bit non-interlaced RGB/RGBA');
      channels = color === 2 ? 3 : 4;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const raw = new Uint8Array(inflateSync(Buffer.concat(idat)));
  const stride = width * channels;
  const pix = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pix[y * stride + x - channels]! : 0;
      const b = y > 0 ? pix[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? pix[(y - 1) * stride + x - channels]! : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      pix[y * stride + x] = (line[x]! + pred) & 0xff;
    }
  }
  if (channels === 3) return { width, height, rgb: pix };
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.set(pix.subarray(i * 4, i * 4 + 3), i * 3);
  return { width, height, rgb };
}

/** A PNG file as a [1, h, w, 3] tensor in [-1, 1] (skingan's convention). */
export function readPngTensor(path: string): tf.Tensor4D {
  const { width, height, rgb } = decodePng(new Uint8Array(readFileSync(path)));
  return tf.tidy(() =>
    tf.tensor4d(
      Float32Array.from(rgb, (v) => v / 127.5 - 1),
      [1, height, width, 3],
    ),
  );
}
