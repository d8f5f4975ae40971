import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { Rng } from '../random.js';
import { replaceDirAtomic } from './atomic.js';
import { fileSystem, loadModel, readTensors, saveModel, writeTensors } from './file-handler.js';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', log: null });
});
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-io-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function smallModel(seed: number): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [8, 8, 3],
        filters: 4,
        kernelSize: 3,
        kernelInitializer: tf.initializers.randomNormal({ seed }),
      }),
      tf.layers.batchNormalization(),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.randomNormal({ seed: seed + 1 }) }),
    ],
  });
}

describe('fileSystem IOHandler', () => {
  it('round-trips a model: the loaded one predicts identically', async () => {
    const model = smallModel(1);
    const x = new Rng(2).normalTensor<tf.Rank.R4>([2, 8, 8, 3]);
    const before = model.predict(x) as tf.Tensor;
    await saveModel(model, join(dir, 'm'));
    const files = (await fs.readdir(join(dir, 'm'))).sort();
    expect(files).toEqual(['model.json', 'weights.bin']);
    const loaded = await loadModel(join(dir, 'm'));
    const after = loaded.predict(x) as tf.Tensor;
    expect(Array.from(await after.data())).toEqual(Array.from(await before.data()));
    expect(loaded.getWeights().length).toBe(model.getWeights().length);
    tf.dispose([x, before, after]);
    model.dispose();
    loaded.dispose();
  });

  it('loads with plain tf.loadLayersModel and names a missing model', async () => {
    const model = smallModel(3);
    await model.save(fileSystem(join(dir, 'm')));
    const loaded = await tf.loadLayersModel(fileSystem(join(dir, 'm')));
    expect(loaded.outputs[0]!.shape).toEqual([null, 3]);
    await expect(loadModel(join(dir, 'nope'))).rejects.toThrow(/nope\/model\.json: no saved model here/);
    model.dispose();
    loaded.dispose();
  });

  it('rejects truncated weights with the file name', async () => {
    const model = smallModel(4);
    await saveModel(model, join(dir, 'm'));
    const bin = join(dir, 'm', 'weights.bin');
    const data = await fs.readFile(bin);
    await fs.writeFile(bin, data.subarray(0, data.length - 8));
    await expect(loadModel(join(dir, 'm'))).rejects.toThrow(
      /weights\.bin: weights are \d+ bytes, the manifest needs \d+/,
    );
    model.dispose();
  });

  it('keeps the previous model when a save fails midway', async () => {
    const target = join(dir, 'm');
    const model = smallModel(5);
    await saveModel(model, target);
    const original = await fs.readFile(join(target, 'weights.bin'));
    await expect(
      replaceDirAtomic(target, async (tmp) => {
        await fs.writeFile(join(tmp, 'weights.bin'), 'partial');
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await fs.readFile(join(target, 'weights.bin'))).toEqual(original);
    expect((await fs.readdir(dir)).filter((f) => f.startsWith('.'))).toEqual([]);
    model.dispose();
  });

  it('round-trips named tensors (optimizer state) in order', async () => {
    const a = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const b = tf.scalar(7, 'int32');
    await writeTensors(dir, 'opt', [
      { name: 'z/first', tensor: a },
      { name: 'a/second', tensor: b },
    ]);
    const back = await readTensors(dir, 'opt');
    expect(back.map((t) => t.name)).toEqual(['z/first', 'a/second']);
    expect(Array.from(await back[0]!.tensor.data())).toEqual([1, 2, 3, 4]);
    expect(back[1]!.tensor.dtype).toBe('int32');
    tf.dispose([a, b, ...back.map((t) => t.tensor)]);
  });
});

describe('a save killed at any moment', () => {
  // A child process saves version 1, then keeps overwriting with version 2 until killed. Whatever
  // the moment of the kill, the folder must load as exactly version 1 or version 2.
  const worker = fileURLToPath(new URL('../test-utils/save-until-killed.mjs', import.meta.url));

  it.each([10, 40, 120])('leaves a loadable model (kill after %i ms)', async (delayMs) => {
    const target = join(dir, 'model');
    const child = spawn(process.execPath, [worker, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('overwriting')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`worker exited early (${code})`)));
    });
    await new Promise((r) => setTimeout(r, delayMs));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const model = await loadModel(target);
    const w = model.getWeights().map((t) => t.dataSync());
    const first = w[0]![0];
    expect([1, 2]).toContain(first);
    for (const arr of w) for (const v of arr) expect(v).toBe(first);
    model.dispose();
  });
});
