import * as tf from '@tensorflow/tfjs';
import type { CycleGanNets } from '../networks/cyclegan-nets.js';

/** Images to show in sample grids: NHWC in [-1, 1] at the config's size, optionally with ids. */
export interface SampleImages {
  a: tf.Tensor4D;
  b: tf.Tensor4D;
  idsA?: string[];
  idsB?: string[];
}

/**
 * One sample sheet: `rows` images, each followed by its translation and the translation back.
 * `images` is row-major ([real, translated, reconstructed] per row), ready for a grid writer.
 */
export interface CycleGanSampleGrid {
  name: 'a2b2a' | 'b2a2b';
  step: number;
  epoch: number;
  images: tf.Tensor4D;
  rows: number;
  cols: 3;
  columns: readonly [string, string, string];
  rowLabels: string[];
}

/** Runs a generator one image at a time (inference keeps no activations, but 256² passes are large). */
export function translateBatch(model: tf.LayersModel, images: tf.Tensor4D, batchSize = 1): tf.Tensor4D {
  return model.predict(images, { batchSize }) as tf.Tensor4D;
}

function cycleGrid(
  forward: tf.LayersModel,
  back: tf.LayersModel,
  real: tf.Tensor4D,
  name: CycleGanSampleGrid['name'],
  ids: string[] | undefined,
  at: { step: number; epoch: number },
): CycleGanSampleGrid {
  const images = tf.tidy(() => {
    const fake = translateBatch(forward, real);
    const rec = translateBatch(back, fake);
    const [n, h, w, c] = real.shape;
    // [n, 3, h, w, c] → rows of (real, fake, reconstruction).
    return tf.stack([real, fake, rec], 1).reshape([n * 3, h, w, c]) as tf.Tensor4D;
  });
  const [src, dst] = name === 'a2b2a' ? ['A', 'B'] : ['B', 'A'];
  return {
    name,
    ...at,
    images,
    rows: real.shape[0],
    cols: 3,
    columns: [src, `${src}→${dst}`, `${src}→${dst}→${src}`],
    rowLabels: ids ?? Array.from({ length: real.shape[0] }, (_, i) => `${src}${i + 1}`),
  };
}

/** The A → B → A and B → A → B sheets for the given images. The caller disposes `images`. */
export function sampleGrids(
  nets: CycleGanNets,
  samples: SampleImages,
  at: { step: number; epoch: number },
): CycleGanSampleGrid[] {
  return [
    cycleGrid(nets.G_A, nets.G_B, samples.a, 'a2b2a', samples.idsA, at),
    cycleGrid(nets.G_B, nets.G_A, samples.b, 'b2a2b', samples.idsB, at),
  ];
}
