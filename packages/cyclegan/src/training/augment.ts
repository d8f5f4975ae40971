import { type Rng, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * The reference's training augmentation after resizing to load_size: a random `size` × `size`
 * crop and a horizontal flip with probability ½, drawn per image from `rng` (so a resumed run
 * draws the same ones). Images already `size` wide are only flipped. Returns a new tensor.
 */
export function randomCropFlip(images: tf.Tensor4D, size: number, flip: boolean, rng: Rng): tf.Tensor4D {
  const [, h, w] = images.shape;
  if (h < size || w < size) {
    throw new SkinganError(`training images are ${h}×${w}, smaller than the crop size ${size}`, {
      code: 'BAD_INPUT',
      hint: `load the images at the config's loadSize (≥ ${size})`,
    });
  }
  return tf.tidy(() => {
    const out = (tf.unstack(images) as tf.Tensor3D[]).map((image) => {
      const top = h > size ? rng.int(h - size + 1) : 0;
      const left = w > size ? rng.int(w - size + 1) : 0;
      let crop = h > size || w > size ? tf.slice(image, [top, left, 0], [size, size, -1]) : image;
      if (flip && rng.float() < 0.5) crop = tf.reverse(crop, 1);
      return crop;
    });
    return tf.stack(out) as tf.Tensor4D;
  });
}

/** The centre `size` × `size` crop (sample grids, translation of load_size images). */
export function centerCrop(images: tf.Tensor4D, size: number): tf.Tensor4D {
  const [, h, w] = images.shape;
  if (h === size && w === size) return images.clone();
  if (h < size || w < size) {
    throw new SkinganError(`images are ${h}×${w}, smaller than ${size}×${size}`, { code: 'BAD_INPUT' });
  }
  return tf.slice(
    images,
    [0, Math.floor((h - size) / 2), Math.floor((w - size) / 2), 0],
    [-1, size, size, -1],
  );
}
