import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';

/** `f` on the cpu backend and on wasm (skingan's kernels): values, shapes and dtypes must be equal. */
async function sameOnBoth(f: () => tf.Tensor): Promise<void> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const out = tf.tidy(f);
    const r = { shape: out.shape, dtype: out.dtype, values: Array.from(await out.data()) };
    out.dispose();
    return r;
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  expect(wasm).toEqual(cpu);
}

const ramp = (shape: number[], dtype: 'float32' | 'int32' = 'float32') =>
  tf.tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) =>
      dtype === 'int32' ? i - 7 : i * 0.5 - 3,
    ),
    shape,
    dtype,
  );

beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});

describe('Slice, Concat and Pack copy heap to heap on WASM', () => {
  it('is one of the replaced kernels', async () => {
    const { replacedKernels } = await initBackend({ backend: 'wasm', log: null });
    expect(replacedKernels).toEqual(expect.arrayContaining(['Slice', 'Concat', 'Pack']));
  });

  it.each([
    {
      label: 'rows of one image (contiguous)',
      shape: [1, 6, 5, 3],
      begin: [0, 2, 0, 0],
      size: [1, 3, -1, -1],
    },
    { label: 'columns (strided)', shape: [2, 6, 5, 3], begin: [0, 1, 2, 0], size: [-1, 4, 2, -1] },
    { label: 'channels (short runs)', shape: [2, 3, 4, 40], begin: [1, 0, 1, 5], size: [1, 3, 3, 30] },
    { label: 'long runs', shape: [3, 70, 40], begin: [1, 3, 0], size: [2, 60, 40] },
    { label: 'rank 1', shape: [50], begin: [7], size: [30] },
    { label: 'empty', shape: [4, 5], begin: [2, 0], size: [0, 5] },
  ])('slices $label as the cpu backend does', async ({ shape, begin, size }) => {
    await sameOnBoth(() => tf.slice(ramp(shape), begin, size));
  });

  it('copies int32 values exactly, including bit patterns that read as float NaN', async () => {
    const nanBits = [-1, -4194304, 2143289344, 2139095041, 5, -8];
    await sameOnBoth(() => tf.slice(tf.tensor2d([...nanBits, ...nanBits], [2, 6], 'int32'), [0, 1], [2, 4]));
    await sameOnBoth(() => tf.concat([tf.tensor1d(nanBits, 'int32'), tf.tensor1d(nanBits, 'int32')]));
    await sameOnBoth(() => tf.stack([tf.tensor1d(nanBits, 'int32'), tf.tensor1d(nanBits, 'int32')], 1));
  });

  it.each([
    {
      label: 'spatial axis of NHWC',
      shapes: [
        [1, 2, 5, 3],
        [1, 4, 5, 3],
        [1, 1, 5, 3],
      ],
      axis: 1,
    },
    {
      label: 'channels',
      shapes: [
        [2, 3, 3, 30],
        [2, 3, 3, 2],
      ],
      axis: 3,
    },
    {
      label: 'first axis',
      shapes: [
        [2, 7],
        [3, 7],
      ],
      axis: 0,
    },
    {
      label: 'negative axis',
      shapes: [
        [4, 2],
        [4, 5],
      ],
      axis: -1,
    },
    {
      label: 'an empty input among others',
      shapes: [
        [3, 0],
        [3, 4],
        [3, 2],
      ],
      axis: 1,
    },
  ])('concatenates along the $label as the cpu backend does', async ({ shapes, axis }) => {
    await sameOnBoth(() =>
      tf.concat(
        shapes.map((s, i) => tf.add(ramp(s), i * 100)),
        axis,
      ),
    );
  });

  it.each([0, 1, 2, 3, -1])('stacks along axis %i as the cpu backend does', async (axis) => {
    await sameOnBoth(() =>
      tf.stack([ramp([2, 4, 3]), tf.add(ramp([2, 4, 3]), 50), tf.neg(ramp([2, 4, 3]))], axis),
    );
  });

  it('leaves other dtypes to the backend, and still checks the inputs', async () => {
    await sameOnBoth(() => tf.slice(tf.tensor1d([true, false, true, true], 'bool'), [1], [2]));
    await sameOnBoth(() => tf.concat([tf.tensor1d([true], 'bool'), tf.tensor1d([false, true], 'bool')]));
    await tf.setBackend('wasm');
    expect(() => tf.stack([tf.zeros([2, 3]), tf.zeros([3, 2])])).toThrow(/matching shapes/);
  });

  it('keeps gradients (slice and concat are each other adjoints) and leaks nothing', async () => {
    await sameOnBoth(() => {
      const x = ramp([2, 6, 5, 3]);
      const g = tf.grad((t: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf
              .concat([tf.slice(t, [0, 1, 0, 0], [2, 3, 5, 3]), tf.slice(t, [0, 0, 2, 0], [2, 3, 3, 3])], 2)
              .square(),
            0.5,
          ),
        ),
      );
      return g(x);
    });
    await tf.setBackend('wasm');
    const x = ramp([1, 18, 18, 8]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) {
      tf.tidy(() => {
        tf.stack([tf.slice(x, [0, 1, 0, 0], [1, 16, -1, -1]), x.slice([0, 2], [1, 16])]);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
