import type { NamedTensor, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * The image buffer of Shrivastava et al. (2017) as the CycleGAN reference uses it: discriminators
 * see a mix of the newest fakes and fakes from earlier steps. While the pool is filling, each
 * image is stored and passed through; once full, each image is, with probability ½, swapped for a
 * random stored one (which is returned) or else passed through.
 */
export class ImagePool {
  private images: tf.Tensor3D[] = [];

  constructor(
    readonly capacity: number,
    private readonly rng: Rng,
  ) {}

  get size(): number {
    return this.images.length;
  }

  /** A batch for the discriminator: the same shape as `batch`. The caller owns both. */
  query(batch: tf.Tensor4D): tf.Tensor4D {
    if (this.capacity === 0) return batch.clone();
    const images = tf.unstack(batch) as tf.Tensor3D[];
    const out: tf.Tensor3D[] = [];
    const stored: tf.Tensor3D[] = [];
    for (const image of images) {
      if (this.images.length < this.capacity) {
        this.images.push(tf.keep(image.clone()));
        out.push(image);
      } else if (this.rng.float() > 0.5) {
        const i = this.rng.int(this.capacity);
        out.push(this.images[i]!);
        this.images[i] = tf.keep(image.clone());
        stored.push(image);
      } else {
        out.push(image);
      }
    }
    const result = tf.stack(out) as tf.Tensor4D;
    // `out` now holds only tensors that left the pool or were passed through: all copied into result.
    tf.dispose([...out, ...stored]);
    return result;
  }

  /** The stored images, for a checkpoint (the caller must not dispose them). */
  toNamedTensors(prefix: string): NamedTensor[] {
    return this.images.map((tensor, i) => ({ name: `${prefix}/${i}`, tensor }));
  }

  /** Replaces the contents with copies of saved images. */
  restore(saved: NamedTensor[]): void {
    this.clear();
    this.images = saved.map((s) => tf.keep(s.tensor.clone() as tf.Tensor3D));
  }

  clear(): void {
    tf.dispose(this.images);
    this.images = [];
  }
}
