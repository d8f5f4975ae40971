import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { isSkinganError, SkinganError } from '../errors.js';
import { diskFull, pathExists, removeStaleTemps, tempSibling, writeJsonAtomic } from '../io/atomic.js';
import { fileSystem, readTensors, writeTensors } from '../io/file-handler.js';

/** What a trainer needs to continue exactly where it stopped. */
export interface CheckpointContent<S = Record<string, unknown>> {
  step: number;
  epoch: number;
  models: Record<string, tf.LayersModel>;
  optimizers?: Record<string, tf.Optimizer>;
  /** JSON state: RNG states, image-pool contents' ids, schedules... */
  state?: S;
}

export interface CheckpointRef {
  step: number;
  epoch: number;
  dir: string;
}

/**
 * The manifest's format. @2: optimizer state in AdamW's layout `adamw@1`. @1 (before AdamW) is
 * still read: its optimizer layouts are converted by `AdamW.setWeights`, its β-powers ignored.
 */
export const CHECKPOINT_FORMAT = 'skingan-checkpoint@2';
const READABLE_FORMATS = new Set([CHECKPOINT_FORMAT, 'skingan-checkpoint@1']);

interface Manifest<S> {
  format: string;
  step: number;
  epoch: number;
  models: string[];
  optimizers: string[];
  state: S;
  savedAt: string;
}

const MANIFEST = 'checkpoint.json';
const LATEST = 'latest.json';
const stepDir = (step: number) => `step-${String(step).padStart(8, '0')}`;

/**
 * The `checkpoints/` folder of a run. Each checkpoint is written into a temp folder and renamed into
 * place only when complete, and `latest.json` moves only after that: a kill at any moment leaves the
 * previous checkpoint loadable. Keeps the newest `keep` checkpoints.
 */
export class CheckpointStore {
  constructor(
    readonly dir: string,
    readonly keep = 2,
  ) {}

  async save<S>(content: CheckpointContent<S>): Promise<CheckpointRef> {
    await fs.mkdir(this.dir, { recursive: true });
    await removeStaleTemps(this.dir); // of saves a kill interrupted
    const final = join(this.dir, stepDir(content.step));
    const tmp = tempSibling(final);
    try {
      await fs.mkdir(tmp);
      for (const [name, model] of Object.entries(content.models)) {
        await model.save(fileSystem(join(tmp, name)));
      }
      for (const [name, opt] of Object.entries(content.optimizers ?? {})) {
        await writeTensors(join(tmp, 'optimizers'), name, await opt.getWeights());
      }
      const manifest: Manifest<S | undefined> = {
        format: CHECKPOINT_FORMAT,
        step: content.step,
        epoch: content.epoch,
        models: Object.keys(content.models),
        optimizers: Object.keys(content.optimizers ?? {}),
        state: content.state,
        savedAt: new Date().toISOString(),
      };
      await writeJsonAtomic(join(tmp, MANIFEST), manifest);
      await fs.rm(final, { recursive: true, force: true });
      await fs.rename(tmp, final);
    } catch (e) {
      await fs.rm(tmp, { recursive: true, force: true });
      throw diskFull(e, final);
    }
    await this.pointLatestAt(content);
    await this.prune();
    return { step: content.step, epoch: content.epoch, dir: final };
  }

  /** The newest complete checkpoint, or undefined when there is none. */
  async latest(): Promise<CheckpointRef | undefined> {
    const all = await this.list();
    return all[all.length - 1];
  }

  /**
   * Points `latest.json` at the newest complete checkpoint: a kill between a checkpoint's rename and
   * the move of `latest.json` leaves it one behind, and a resume with nothing left to train would
   * otherwise never write it again.
   */
  async syncLatest(): Promise<void> {
    const latest = await this.latest();
    if (!latest) return;
    const current = await fs.readFile(join(this.dir, LATEST), 'utf8').then(
      (t) => JSON.parse(t) as { step?: number },
      () => undefined,
    );
    if (current?.step !== latest.step) await this.pointLatestAt(latest);
  }

  /** Writes `latest.json` naming the checkpoint of `step`. */
  private async pointLatestAt({ step, epoch }: { step: number; epoch: number }): Promise<void> {
    await writeJsonAtomic(join(this.dir, LATEST), { step, epoch, dir: stepDir(step) });
  }

  /** Complete checkpoints, oldest first (a folder counts only once its manifest is in place). */
  async list(): Promise<CheckpointRef[]> {
    const entries = await fs.readdir(this.dir).catch(() => [] as string[]);
    const refs: CheckpointRef[] = [];
    for (const e of entries.filter((n) => /^step-\d+$/.test(n)).sort()) {
      const dir = join(this.dir, e);
      if (!(await pathExists(join(dir, MANIFEST)))) continue;
      const m = JSON.parse(await fs.readFile(join(dir, MANIFEST), 'utf8')) as Manifest<unknown>;
      refs.push({ step: m.step, epoch: m.epoch, dir });
    }
    return refs;
  }

  /**
   * Loads a checkpoint. With `into.models`, copies each saved network's weights into the given
   * (already built) model, so optimizers keep pointing at the same variables; otherwise returns
   * freshly loaded models. Restores optimizer state (Adam moments, iteration count) into
   * `into.optimizers` and returns the saved JSON state. Networks named in `into.optional` may be
   * missing from the checkpoint (one saved before they existed); they are then left as they are.
   */
  async restore<S = Record<string, unknown>>(
    ref: CheckpointRef,
    into: {
      models?: Record<string, tf.LayersModel>;
      optimizers?: Record<string, tf.Optimizer>;
      optional?: readonly string[];
    } = {},
  ): Promise<{ step: number; epoch: number; models: Record<string, tf.LayersModel>; state: S }> {
    const manifestPath = join(ref.dir, MANIFEST);
    const bad = (message: string, more?: { hint: string; cause?: unknown }) =>
      new SkinganError(message, { code: 'BAD_CHECKPOINT', file: manifestPath, ...more });
    let m: Manifest<S>;
    try {
      m = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as Manifest<S>;
    } catch (e) {
      throw bad('checkpoint manifest is missing or unreadable', {
        hint: 'start without --resume, or delete this checkpoint folder to fall back to the one before',
        cause: e,
      });
    }
    if (!READABLE_FORMATS.has(m.format)) {
      throw bad(
        `checkpoint is in format ${m.format ?? '(none)'}; this version of skingan reads ${[...READABLE_FORMATS].join(' and ')}`,
        { hint: 'resume with the skingan version that wrote it, or start the run again without --resume' },
      );
    }
    const models: Record<string, tf.LayersModel> = {};
    for (const name of m.models) {
      const loaded = await tf.loadLayersModel(fileSystem(join(ref.dir, name)));
      const target = into.models?.[name];
      if (target) {
        target.setWeights(loaded.getWeights());
        loaded.dispose();
        models[name] = target;
      } else {
        models[name] = loaded;
      }
    }
    for (const name of Object.keys(into.models ?? {})) {
      if (!m.models.includes(name) && !into.optional?.includes(name)) {
        throw bad(`checkpoint has no network "${name}"`);
      }
    }
    for (const [name, opt] of Object.entries(into.optimizers ?? {})) {
      if (!m.optimizers.includes(name)) throw bad(`checkpoint has no state for optimizer "${name}"`);
      const weights = await readTensors(join(ref.dir, 'optimizers'), name);
      try {
        await opt.setWeights(weights);
      } catch (e) {
        if (!isSkinganError(e) || e.file) throw e;
        throw new SkinganError(e.message, {
          ...e,
          file: join(ref.dir, 'optimizers', `${name}.json`),
          cause: e,
        });
      } finally {
        tf.dispose(weights.map((w) => w.tensor));
      }
    }
    return { step: m.step, epoch: m.epoch, models, state: m.state };
  }

  /**
   * Moves the checkpoints of step `step` and later aside (to `suspect-step-…`, out of `latest()`'s
   * sight but not deleted), so a resume starts from the newest one before. Returns the steps moved
   * and that newest remaining checkpoint.
   */
  async setAsideFrom(step: number): Promise<{ moved: number[]; latest: CheckpointRef | undefined }> {
    const moved: number[] = [];
    for (const ref of await this.list()) {
      if (ref.step < step) continue;
      const aside = join(this.dir, `suspect-${stepDir(ref.step)}`);
      await fs.rm(aside, { recursive: true, force: true });
      await fs.rename(ref.dir, aside);
      moved.push(ref.step);
    }
    const latest = await this.latest();
    if (!moved.length) return { moved, latest };
    if (latest) await this.pointLatestAt(latest);
    else await fs.rm(join(this.dir, LATEST), { force: true });
    return { moved, latest };
  }

  private async prune(): Promise<void> {
    const all = await this.list();
    for (const ref of all.slice(0, Math.max(0, all.length - this.keep))) {
      await fs.rm(ref.dir, { recursive: true, force: true });
    }
    // Temp folders of saves that were killed.
    for (const e of await fs.readdir(this.dir)) {
      if (e.startsWith('.step-') && !e.includes(`-${process.pid}-`)) {
        await fs.rm(join(this.dir, e), { recursive: true, force: true });
      }
    }
  }
}
