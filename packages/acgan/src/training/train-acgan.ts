import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { type BatchSource, CheckpointStore, type FitResult, type ParamCount, RunFolder } from '@skingan/core';
import { parseAcganConfig } from '../config.js';
import { AcganTrainer, type AcganTrainerOptions } from './trainer.js';

export interface TrainAcganOptions extends Omit<AcganTrainerOptions, 'run'> {
  /** The run folder (created; with `resume`, an existing one is continued from its newest checkpoint). */
  out: string;
  resume?: boolean;
  /** Resume a run that diverged with unchanged settings (otherwise the learning rates must change). */
  resumeDiverged?: boolean;
  source: BatchSource;
  /** Fields recorded in run.json when it opens (e.g. the input data's fingerprints). */
  runInfo?: Record<string, unknown>;
}

/**
 * A whole training run: opens the run folder (config.json, run.json), trains, and records how it
 * ended in run.json: `completed`, `interrupted` (stopped, resumable) or `failed` (with the error).
 */
export async function trainAcgan(
  options: TrainAcganOptions,
): Promise<FitResult & { dir: string; params: { generator: ParamCount; discriminator: ParamCount } }> {
  const run = await RunFolder.open(options.out, {
    kind: 'acgan',
    config: options.config,
    resume: options.resume ?? false,
    // With the defaults of fields added since the run started, so that they resume unchanged.
    parseSaved: parseAcganConfig,
    // Training longer (and measuring differently) are the changes a resume may make; after a
    // divergence, the training settings (learning rates) too, and they must change.
    resumableKeys: ['epochs', 'eval'],
    retuneKeys: ['training'],
    resumeDiverged: options.resumeDiverged ?? false,
    ...(options.runInfo ? { info: options.runInfo } : {}),
  });
  let trainer: AcganTrainer | undefined;
  try {
    // Only once the run's lock is held: another process may be writing this folder.
    if (options.resume) await forgetStepsWithoutCheckpoint(run.dir);
    trainer = await AcganTrainer.create({ ...options, run });
    const result = await trainer.train(options.source);
    await run.finish(result.status === 'completed' ? 'completed' : 'interrupted');
    return { ...result, dir: run.dir, params: trainer.params };
  } catch (e) {
    await run.finish('failed', e);
    throw e;
  } finally {
    trainer?.dispose();
  }
}

/**
 * A run killed before its first checkpoint restarts from step 0, but RunFolder only drops the
 * metrics logged after a checkpoint: drop them all here, so no step is logged twice.
 */
async function forgetStepsWithoutCheckpoint(dir: string): Promise<void> {
  if (await new CheckpointStore(join(dir, 'checkpoints')).latest()) return;
  await fs.rm(join(dir, 'metrics.jsonl'), { force: true });
}
