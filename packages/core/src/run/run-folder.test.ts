import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { RunFolder } from './run-folder.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'skingan-run-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('RunFolder', () => {
  it('lays out a run as DESIGN.md says and records status', async () => {
    await initBackend({ backend: 'cpu', log: null });
    const run = await RunFolder.open(join(dir, 'r'), { kind: 'test', config: { lr: 0.1, epochs: 2 } });
    run.log({ type: 'step', step: 1, loss: 0.5 });
    await run.finish('completed');
    const files = (await fs.readdir(join(dir, 'r'))).sort();
    expect(files).toEqual(['checkpoints', 'config.json', 'metrics.jsonl', 'run.json', 'samples']);
    expect(JSON.parse(await fs.readFile(join(dir, 'r', 'config.json'), 'utf8'))).toEqual({
      lr: 0.1,
      epochs: 2,
    });
    const status = JSON.parse(await fs.readFile(join(dir, 'r', 'run.json'), 'utf8'));
    expect(status).toMatchObject({ kind: 'test', status: 'completed', backend: 'cpu' });
    expect(await run.readMetrics()).toEqual([{ type: 'step', step: 1, loss: 0.5 }]);
  });

  it('refuses to overwrite a run, and refuses a resume with another config', async () => {
    const target = join(dir, 'r');
    await RunFolder.open(target, { kind: 'test', config: { lr: 0.1, epochs: 2 } });
    await expect(RunFolder.open(target, { kind: 'test', config: { lr: 0.1, epochs: 2 } })).rejects.toThrow(
      /a run already exists here/,
    );
    await expect(
      RunFolder.open(target, { kind: 'test', config: { lr: 0.2, epochs: 2 }, resume: true }),
    ).rejects.toThrow(/different config \(lr\)/);
    // Training longer is allowed when the trainer says so.
    const ok = await RunFolder.open(target, {
      kind: 'test',
      config: { lr: 0.1, epochs: 5 },
      resume: true,
      resumableKeys: ['epochs'],
    });
    expect(ok.status.attempts).toHaveLength(2);
  });

  it('drops metrics logged after the checkpoint a resume starts from', async () => {
    const target = join(dir, 'r');
    const run = await RunFolder.open(target, { kind: 'test', config: {} });
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1 })] });
    for (let step = 1; step <= 3; step++) run.log({ type: 'step', step });
    const ref = await run.checkpoints.save({ step: 3, epoch: 0, models: { m: model } });
    run.log({ type: 'checkpoint', step: 3, epoch: 0, path: ref.dir });
    for (let step = 4; step <= 5; step++) run.log({ type: 'step', step });
    const resumed = await RunFolder.open(target, { kind: 'test', config: {}, resume: true });
    expect((await resumed.readMetrics()).map((r) => [r.type, r.step])).toEqual([
      ['step', 1],
      ['step', 2],
      ['step', 3],
      ['checkpoint', 3],
    ]);
    expect(resumed.status.attempts.map((a) => a.fromStep)).toEqual([0, 3]);
    expect(resumed.checkpoints.keep).toBe(2);
    const one = await RunFolder.open(join(dir, 'r1'), { kind: 'test', config: {}, keepCheckpoints: 1 });
    expect(one.checkpoints.keep).toBe(1);
    model.dispose();
  });

  it('resume after a crash between saving a checkpoint and logging it: logs it as the run would have', async () => {
    const target = join(dir, 'r');
    const run = await RunFolder.open(target, { kind: 'test', config: {} });
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [1], units: 1 })] });
    for (let step = 1; step <= 2; step++) run.log({ type: 'step', step });
    const ref = await run.checkpoints.save({ step: 2, epoch: 0, models: { m: model } });
    const resumed = await RunFolder.open(target, { kind: 'test', config: {}, resume: true });
    expect(await resumed.readMetrics()).toEqual([
      { type: 'step', step: 1 },
      { type: 'step', step: 2 },
      { type: 'checkpoint', step: 2, epoch: 0, path: ref.dir },
    ]);
    model.dispose();
  });

  it('resume after a full disk tore the last metrics line: drops it; a torn line elsewhere names the file and line', async () => {
    const target = join(dir, 'r');
    await RunFolder.open(target, { kind: 'test', config: {} });
    const metrics = join(target, 'metrics.jsonl');
    await fs.writeFile(metrics, '{"type":"step","step":1}\n{"type":"st');
    const resumed = await RunFolder.open(target, { kind: 'test', config: {}, resume: true });
    expect(await resumed.readMetrics()).toEqual([]); // no checkpoint: the resume starts at step 0
    await fs.writeFile(metrics, '{"type":"st\n{"type":"step","step":1}\n');
    await expect(resumed.readMetrics()).rejects.toThrow(`${metrics}:1: not a JSON line`);
  });
});
