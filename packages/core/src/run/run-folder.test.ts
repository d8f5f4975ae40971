import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend.js';
import { combineObservers } from '../events.js';
import { DivergedError, DivergenceGuard } from './divergence-guard.js';
import { folderLockHolder, LOCK_FILE } from './folder-lock.js';
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

  it('its metrics observer appends eval events (through combineObservers) as type "eval" records', async () => {
    const run = await RunFolder.open(join(dir, 'r'), { kind: 'test', config: {} });
    const seen: number[] = [];
    const observer = combineObservers(run.metricsObserver(), { onEval: (e) => void seen.push(e.epoch) });
    await observer.onEval?.({
      kind: 'eval',
      epoch: 2,
      step: 30,
      figures: { fid: 12.5, diversity: { MEL: 0.4 } },
      warnings: ['mode collapse: class MEL diversity 0.40'],
      elapsedMs: 7,
    });
    await run.finish('completed');
    expect(seen).toEqual([2]);
    expect(await run.readMetrics()).toEqual([
      {
        type: 'eval',
        step: 30,
        epoch: 2,
        fid: 12.5,
        diversity: { MEL: 0.4 },
        warnings: ['mode collapse: class MEL diversity 0.40'],
        ms: 7,
      },
    ]);
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

  it('parseSaved: a config field added since the run started compares as its default on resume', async () => {
    const target = join(dir, 'r');
    // Saved by a version without `ema`; the current schema defaults it to 0.
    const first = await RunFolder.open(target, { kind: 'test', config: { lr: 0.1 } });
    await first.finish('interrupted');
    const withDefaults = (saved: unknown) => ({ ema: 0, ...(saved as { lr: number }) });
    await expect(
      RunFolder.open(target, { kind: 'test', config: { lr: 0.1, ema: 0 }, resume: true }),
    ).rejects.toThrow(/different config \(ema\)/);
    await expect(
      RunFolder.open(target, {
        kind: 'test',
        config: { lr: 0.1, ema: 0.9 },
        resume: true,
        parseSaved: withDefaults,
      }),
    ).rejects.toThrow(/different config \(ema\)/);
    const ok = await RunFolder.open(target, {
      kind: 'test',
      config: { lr: 0.1, ema: 0 },
      resume: true,
      parseSaved: withDefaults,
    });
    await ok.finish('completed');
    expect(JSON.parse(await fs.readFile(join(target, 'config.json'), 'utf8'))).toEqual({ lr: 0.1, ema: 0 });
  });

  it('records info in run.json from the first write, and a resume replaces it', async () => {
    const target = join(dir, 'r');
    await RunFolder.open(target, { kind: 'test', config: {}, info: { inputs: { data: 'a' } } });
    const read = async () => JSON.parse(await fs.readFile(join(target, 'run.json'), 'utf8'));
    expect(await read()).toMatchObject({ kind: 'test', status: 'running', inputs: { data: 'a' } });
    await RunFolder.open(target, { kind: 'test', config: {}, resume: true });
    expect((await read()).inputs).toEqual({ data: 'a' });
    await RunFolder.open(target, { kind: 'test', config: {}, resume: true, info: { inputs: { data: 'b' } } });
    expect(await read()).toMatchObject({ inputs: { data: 'b' }, attempts: [{}, {}, {}] });
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

  it('holds the folder lock from open to finish, records pid and host, and refuses a live holder', async () => {
    const target = join(dir, 'r');
    const run = await RunFolder.open(target, { kind: 'acgan', config: {} });
    expect(await folderLockHolder(target)).toMatchObject({ pid: process.pid, command: 'acgan train' });
    expect(run.status).toMatchObject({ pid: process.pid, host: hostname() });
    await run.finish('completed');
    expect(await folderLockHolder(target)).toBeUndefined();

    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const lock = { pid: other.pid, host: hostname(), command: 'acgan train', startedAt: 'x' };
      await fs.writeFile(join(target, LOCK_FILE), JSON.stringify(lock));
      await expect(RunFolder.open(target, { kind: 'acgan', config: {}, resume: true })).rejects.toThrow(
        `another process is writing into this folder: \`acgan train\` (pid ${other.pid} on ${hostname()}`,
      );
      // Refused before touching anything: run.json still says completed.
      expect(JSON.parse(await fs.readFile(join(target, 'run.json'), 'utf8')).status).toBe('completed');
    } finally {
      other.kill();
    }
  });

  it('records a divergence, and a resume must change a retune key or say resumeDiverged', async () => {
    const target = join(dir, 'r');
    const options = { kind: 'test', resumableKeys: ['epochs'], retuneKeys: ['lr'] };
    const run = await RunFolder.open(target, { ...options, config: { lr: 1e6, epochs: 2, arch: 'a' } });
    const d = new DivergenceGuard().check(7, { loss: Number.NaN })!;
    await run.finish('failed', new DivergedError('test training', d, { checkpointStep: 4, hint: 'h' }));
    const saved = JSON.parse(await fs.readFile(join(target, 'run.json'), 'utf8'));
    expect(saved.divergence).toMatchObject({ step: 7, loss: 'loss', value: 'NaN', checkpointStep: 4 });
    expect(saved.attempts[0].divergence.step).toBe(7);

    // Unchanged (training longer does not count as a change): refused.
    const err = await RunFolder.open(target, {
      ...options,
      config: { lr: 1e6, epochs: 3, arch: 'a' },
      resume: true,
    }).catch((e) => e);
    expect(err.message).toContain(
      'this run diverged at step 7 (loss = NaN); resuming it unchanged from its checkpoint at step 4 would replay the divergence',
    );
    expect(err.hint).toContain('--resume-diverged');
    // Other keys than the retune keys still may not change.
    await expect(
      RunFolder.open(target, { ...options, config: { lr: 1e-3, epochs: 2, arch: 'b' }, resume: true }),
    ).rejects.toThrow(/different config \(arch\)/);
    // A lower learning rate is accepted, and the new attempt starts without the record.
    const lower = await RunFolder.open(target, {
      ...options,
      config: { lr: 1e-3, epochs: 2, arch: 'a' },
      resume: true,
    });
    expect(lower.status.divergence).toBeUndefined();
    expect(lower.status.attempts[0]!.divergence?.step).toBe(7);
    await lower.finish('failed', new DivergedError('test training', d, { checkpointStep: 4, hint: 'h' }));
    // Or the same settings, when asked for explicitly.
    const again = await RunFolder.open(target, {
      ...options,
      config: { lr: 1e-3, epochs: 2, arch: 'a' },
      resume: true,
      resumeDiverged: true,
    });
    expect(again.status.attempts).toHaveLength(3);
  });
});

describe('describeRunStatus', () => {
  it('reads "running" with a dead pid on this host as stopped (process gone); another host stays running', async () => {
    const { spawnSync } = await import('node:child_process');
    const { describeRunStatus } = await import('./run-folder.js');
    const dead = Number(
      spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout,
    );
    expect(describeRunStatus({ status: 'running', pid: dead, host: hostname() })).toBe(
      `stopped (process gone: pid ${dead} no longer runs; --resume continues from the last checkpoint)`,
    );
    expect(describeRunStatus({ status: 'running', pid: process.pid, host: hostname() })).toBe('running');
    expect(describeRunStatus({ status: 'running', pid: dead, host: 'elsewhere' })).toBe('running');
    expect(describeRunStatus({ status: 'completed' })).toBe('completed');
  });
});
