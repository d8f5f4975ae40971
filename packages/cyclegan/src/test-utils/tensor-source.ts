import { type Batch, type BatchSource, Rng } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/**
 * An in-memory BatchSource over `images` ([n, h, w, 3] in [-1, 1]): each epoch a seeded shuffle,
 * the same for the same epoch, like @skingan/data's sources. Owns `images` (dispose()).
 */
export class TensorSource implements BatchSource {
  readonly size: number;
  readonly stepsPerEpoch: number;
  readonly ids: string[];

  constructor(
    readonly images: tf.Tensor4D,
    readonly batchSize: number,
    private readonly seed: number,
    prefix = 'img',
  ) {
    this.size = images.shape[0];
    this.stepsPerEpoch = Math.ceil(this.size / batchSize);
    this.ids = Array.from({ length: this.size }, (_, i) => `${prefix}${i}`);
  }

  async *epoch(epoch: number, options: { skipBatches?: number } = {}): AsyncIterable<Batch> {
    const order = new Rng(`${this.seed}:${epoch}`).shuffle([...Array(this.size).keys()]);
    for (let s = options.skipBatches ?? 0; s < this.stepsPerEpoch; s++) {
      const idx = order.slice(s * this.batchSize, (s + 1) * this.batchSize);
      const images = tf.tidy(
        () => tf.stack(idx.map((i) => this.images.slice([i], [1]).squeeze([0]))) as tf.Tensor4D,
      );
      yield {
        images,
        labels: tf.tensor1d(
          idx.map(() => 0),
          'int32',
        ),
        ids: idx.map((i) => this.ids[i]!),
      };
    }
  }

  dispose(): void {
    this.images.dispose();
  }
}

/**
 * Toy images: smooth random blobs with a colour cast, `tint` 'red' (R up, B down) or 'blue' (B up,
 * R down). Values in [-1, 1].
 */
export function tintedImages(n: number, size: number, tint: 'red' | 'blue', seed: number): tf.Tensor4D {
  return tf.tidy(() => {
    const rng = new Rng(seed);
    const coarse = rng.uniformTensor([n, size / 4, size / 4, 1], -0.6, 0.6) as tf.Tensor4D;
    const base = tf.image.resizeBilinear(coarse, [size, size]);
    const shift = tint === 'red' ? [0.5, 0, -0.5] : [-0.5, 0, 0.5];
    return tf.clipByValue(tf.add(tf.tile(base, [1, 1, 1, 3]), tf.tensor1d(shift)), -1, 1) as tf.Tensor4D;
  });
}

/** Mean of (blue − red) over all pixels: > 0 for blue-tinted images. */
export function blueness(images: tf.Tensor4D): number {
  return tf.tidy(() => {
    const [r, , b] = tf.split(images, 3, 3);
    return tf.mean(tf.sub(b!, r!)).dataSync()[0]!;
  });
}
