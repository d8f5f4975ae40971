import { Rng, SkinganError } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';

/** What generating needs to know about a generator. */
export interface GeneratorShape {
  labelSpace: { classes: readonly string[] };
  generator: { latentDim: number };
}

/** Images are generated this many at a time, to bound memory at large sizes. */
const CHUNK = 32;

/**
 * The noise of one image: standard normals from `Rng(seed)`. Image i of a `generate(labels, seed)`
 * call uses seed + i, so any single image can be redrawn from its own seed (provenance records it).
 */
export function imageNoise(seed: number, latentDim: number): Float32Array {
  const rng = new Rng(seed);
  const v = new Float32Array(latentDim);
  for (let i = 0; i < latentDim; i++) v[i] = rng.normal();
  return v;
}

/**
 * Runs the generator in inference mode (batch-norm running statistics, so an image does not depend
 * on the others in its batch) for `labels`, with noise from per-image seeds (`seed + i`) or given.
 */
export function generateImages(
  model: tf.LayersModel,
  config: GeneratorShape,
  labels: readonly number[],
  noise: number | tf.Tensor2D,
): tf.Tensor4D {
  const numClasses = config.labelSpace.classes.length;
  const latentDim = config.generator.latentDim;
  labels.forEach((l, i) => {
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new SkinganError(`label ${l} (at index ${i}) is not a class index`, {
        code: 'USAGE',
        hint: `labels are 0..${numClasses - 1}: ${config.labelSpace.classes.join(', ')}`,
      });
    }
  });
  if (typeof noise !== 'number' && noise.shape[0] !== labels.length) {
    throw new SkinganError(`${noise.shape[0]} noise rows for ${labels.length} labels`, { code: 'INTERNAL' });
  }
  const parts: tf.Tensor4D[] = [];
  try {
    for (let start = 0; start < labels.length; start += CHUNK) {
      const chunk = labels.slice(start, start + CHUNK);
      parts.push(
        tf.tidy(() => {
          let z: tf.Tensor2D;
          if (typeof noise === 'number') {
            const values = new Float32Array(chunk.length * latentDim);
            for (let i = 0; i < chunk.length; i++)
              values.set(imageNoise(noise + start + i, latentDim), i * latentDim);
            z = tf.tensor2d(values, [chunk.length, latentDim]);
          } else {
            z = tf.slice(noise, [start, 0], [chunk.length, latentDim]);
          }
          const y = tf.cast(tf.oneHot(tf.tensor1d(chunk, 'int32'), numClasses), 'float32');
          return model.apply([z, y], { training: false }) as tf.Tensor4D;
        }),
      );
    }
    return parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor4D);
  } finally {
    if (parts.length > 1) tf.dispose(parts);
  }
}

/** Labels of a sample grid, row-major: `cols` images of class 0, then of class 1... */
export function sampleGridLabels(numClasses: number, cols: number): number[] {
  return Array.from({ length: numClasses * cols }, (_, i) => Math.floor(i / cols));
}
