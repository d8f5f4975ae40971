import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, RunFolder } from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from './config.js';
import { TensorSource, tintedImages } from './test-utils/tensor-source.js';
import { CycleGanTrainer } from './training/trainer.js';
import { loadTranslator } from './translator.js';

let dir = '';
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
  dir = mkdtempSync(join(tmpdir(), 'cyclegan-translator-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('loadTranslator', () => {
  it('translates with the generator of the run’s last checkpoint, in either direction', async () => {
    const config = resolveConfig('test', { size: 24, loadSize: 24, ngf: 4, ndf: 4, blocks: 1, epochs: 1 });
    const run = await RunFolder.open(join(dir, 'run'), { kind: 'cyclegan', config });
    const trainer = new CycleGanTrainer(config);
    const a = new TensorSource(tintedImages(2, 24, 'red', 1), 1, 1);
    const b = new TensorSource(tintedImages(2, 24, 'blue', 2), 1, 2);
    await trainer.train(a, b, { run });
    const images = tintedImages(3, 24, 'red', 3);
    for (const [direction, net] of [
      ['a2b', trainer.nets.G_A],
      ['b2a', trainer.nets.G_B],
    ] as const) {
      const translator = await loadTranslator(join(dir, 'run'), direction);
      expect(translator.imageSize).toBe(24);
      expect(translator.source.step).toBe(2);
      const out = translator.translate(images);
      const want = net.predict(images, { batchSize: 1 }) as tf.Tensor;
      expect(out.shape).toEqual([3, 24, 24, 3]);
      expect(Array.from(out.dataSync())).toEqual(Array.from(want.dataSync()));
      tf.dispose([out, want]);
      translator.dispose();
    }
    tf.dispose(images);
    trainer.dispose();
    a.dispose();
    b.dispose();
  });

  it('says what is wrong with a folder that is no run, or a run without checkpoints', async () => {
    await expect(loadTranslator(join(dir, 'nothing'), 'a2b')).rejects.toThrow(
      /not a CycleGAN run folder \(no config\.json\)/,
    );
    const config = resolveConfig('test');
    await RunFolder.open(join(dir, 'empty'), { kind: 'cyclegan', config });
    await expect(loadTranslator(join(dir, 'empty'), 'a2b')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/checkpoints: this CycleGAN run has no checkpoint yet/),
    });
  });

  it('refuses images whose size the generator cannot take', async () => {
    const translator = await loadTranslator(join(dir, 'run'), 'a2b');
    const odd = tf.zeros([1, 30, 30, 3]) as tf.Tensor4D;
    expect(() => translator.translate(odd)).toThrow(/multiples of 4/);
    odd.dispose();
    translator.dispose();
  });
});
