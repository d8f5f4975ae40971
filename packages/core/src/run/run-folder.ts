import { promises as fs } from 'node:fs';
import { join, resolve } from 'node:path';
import { backendInfo } from '../backend/init-backend.js';
import { SkinganError } from '../errors.js';
import type { TrainingObserver } from '../events.js';
import {
  appendFileNow,
  pathExists,
  removeStaleTemps,
  writeFileAtomic,
  writeJsonAtomic,
} from '../io/atomic.js';
import { CheckpointStore } from './checkpoint-store.js';
import { type DivergenceRecord, divergenceOf, formatLoss, lossName } from './divergence-guard.js';
import { type FolderLock, lockFolder, processGone } from './folder-lock.js';

export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

export interface RunJson {
  kind: string;
  status: RunStatus;
  backend: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Wall time spent in each attempt (a resumed run has several). */
  attempts: { startedAt: string; endedAt?: string; fromStep: number; divergence?: DivergenceRecord }[];
  /** The process of the attempt in progress (a "running" run whose process is gone was killed). */
  pid?: number;
  host?: string;
  error?: string;
  /** Set when the last attempt diverged: a resume must change `retuneKeys` (or say `resumeDiverged`). */
  divergence?: DivergenceRecord;
  [extra: string]: unknown;
}

export interface OpenRunOptions<C> {
  /** What trains here ('acgan', 'cyclegan', 'classifier'...), recorded in run.json. */
  kind: string;
  /** The resolved config, written to config.json. */
  config: C;
  /** Continue an existing run: its config.json must be compatible (see `compareConfig`). */
  resume?: boolean;
  /**
   * Reads the saved config.json for that comparison, e.g. the trainer's schema parser: a field
   * added to the schema since the run started then compares as its default, not as a change.
   */
  parseSaved?: (saved: unknown, file: string) => C;
  /** Checkpoints to keep. */
  keepCheckpoints?: number;
  /** Config keys that may differ on resume (e.g. epochs, to train longer). */
  resumableKeys?: string[];
  /**
   * Config keys a resume of a diverged run may change, and must change unless `resumeDiverged`
   * (the learning rates: replaying the same settings diverges the same way).
   */
  retuneKeys?: string[];
  /** Resume a diverged run with unchanged settings anyway. */
  resumeDiverged?: boolean;
  /** Named to another process that finds the folder locked (default `${kind} train`). */
  command?: string;
  /**
   * Fields recorded in run.json as it opens, over those of the run resumed (e.g. the fingerprints
   * of the input data), so they are there from the first write on.
   */
  info?: Record<string, unknown>;
}

/**
 * One training run on disk, as DESIGN.md lays it out: `config.json`, `metrics.jsonl` (one JSON
 * object per line, flushed at once), `checkpoints/`, `samples/` and `run.json` (status, backend,
 * timings). Opening an existing run folder without `resume` is refused, so nothing is overwritten.
 */
export class RunFolder<C = unknown> {
  readonly checkpoints: CheckpointStore;
  readonly samplesDir: string;
  readonly metricsPath: string;
  private run!: RunJson;

  private constructor(
    readonly dir: string,
    readonly config: C,
    private readonly lock: FolderLock,
    keepCheckpoints?: number,
  ) {
    this.checkpoints = new CheckpointStore(join(dir, 'checkpoints'), keepCheckpoints);
    this.samplesDir = join(dir, 'samples');
    this.metricsPath = join(dir, 'metrics.jsonl');
  }

  /**
   * Opens (creates, or with `resume` continues) the run in `dir`, holding its lock until `finish`:
   * a second process writing into the same folder is refused (see `lockFolder`).
   */
  static async open<C>(dir: string, options: OpenRunOptions<C>): Promise<RunFolder<C>> {
    const abs = resolve(dir);
    const lock = await lockFolder(abs, { command: options.command ?? `${options.kind} train` });
    try {
      return await RunFolder.openLocked(abs, lock, options);
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  private static async openLocked<C>(
    abs: string,
    lock: FolderLock,
    options: OpenRunOptions<C>,
  ): Promise<RunFolder<C>> {
    const configPath = join(abs, 'config.json');
    const exists = await pathExists(configPath);
    if (exists && !options.resume) {
      throw new SkinganError('a run already exists here', {
        code: 'USAGE',
        file: abs,
        hint: 'pass --resume to continue it, or choose another --out folder',
      });
    }
    const previous = exists ? await readRunJson(abs) : undefined;
    if (exists) {
      const raw: unknown = JSON.parse(await fs.readFile(configPath, 'utf8'));
      const saved = options.parseSaved ? options.parseSaved(raw, configPath) : (raw as C);
      const resumable = options.resumableKeys ?? [];
      const retune = previous?.divergence ? (options.retuneKeys ?? []) : [];
      const diff = compareConfig(saved, options.config, [...resumable, ...retune]);
      if (diff.length) {
        throw new SkinganError(`--resume with a different config (${diff.join(', ')})`, {
          code: 'USAGE',
          file: configPath,
          hint: 'resume with the same settings, or start a new run in another folder',
        });
      }
      if (previous?.divergence && !options.resumeDiverged) {
        const changed = compareConfig(saved, options.config, resumable);
        if (!changed.length) throw divergedResumeError(abs, previous.divergence, options.retuneKeys ?? []);
      }
    }
    const run = new RunFolder<C>(abs, options.config, lock, options.keepCheckpoints);
    // What a killed process left half-written, and a latest.json it had no time to move.
    for (const d of [abs, run.samplesDir, run.checkpoints.dir]) await removeStaleTemps(d);
    // config.json first: a run killed before it leaves no visible entry (only the lock and a temp),
    // so the rerun sees an empty folder, not a "non-empty folder that is not a run".
    await writeJsonAtomic(configPath, options.config);
    await fs.mkdir(run.samplesDir, { recursive: true });
    await fs.mkdir(run.checkpoints.dir, { recursive: true });
    if (exists) await run.checkpoints.syncLatest();
    const now = new Date().toISOString();
    const latest = exists ? await run.checkpoints.latest() : undefined;
    // Steps after the checkpoint we resume from will be logged again (all of them without one).
    if (exists) await run.truncateMetricsAfter(latest?.step ?? 0);
    run.run = {
      ...(previous ?? {}),
      ...(options.info ?? {}),
      kind: options.kind,
      status: 'running',
      backend: backendInfo()?.name ?? null,
      pid: lock.holder.pid,
      host: lock.holder.host,
      startedAt: previous?.startedAt ?? now,
      updatedAt: now,
      attempts: [...(previous?.attempts ?? []), { startedAt: now, fromStep: latest?.step ?? 0 }],
    };
    delete run.run.error;
    delete run.run.finishedAt;
    delete run.run.divergence;
    await run.writeRunJson();
    return run;
  }

  /** Appends one JSON line to metrics.jsonl (synchronously, so a crash right after loses nothing). */
  log(record: Record<string, unknown>): void {
    appendFileNow(this.metricsPath, `${JSON.stringify(record)}\n`);
  }

  /** All metrics records so far. */
  async readMetrics(): Promise<Record<string, unknown>[]> {
    const text = await fs.readFile(this.metricsPath, 'utf8').catch(() => '');
    const lines = text.split('\n');
    return lines.flatMap((l, i) => {
      if (!l.trim()) return [];
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch (e) {
        // An append the disk filled up in the middle of leaves a torn last line: the resume redoes it.
        if (i === lines.length - 1) return [];
        throw new SkinganError('not a JSON line', {
          code: 'BAD_CHECKPOINT',
          file: this.metricsPath,
          line: i + 1,
          cause: e,
        });
      }
    });
  }

  /** An observer that writes every step, epoch, checkpoint and eval event to metrics.jsonl. */
  metricsObserver(): TrainingObserver {
    return {
      onStep: (e) =>
        this.log({ type: 'step', step: e.step, epoch: e.epoch, ...e.losses, ...e.metrics, ms: e.elapsedMs }),
      onEpoch: (e) =>
        this.log({ type: 'epoch', step: e.step, epoch: e.epoch, ...e.losses, ...e.metrics, ms: e.elapsedMs }),
      onCheckpoint: (e) => this.log({ type: 'checkpoint', step: e.step, epoch: e.epoch, path: e.path }),
      onEval: (e) =>
        this.log({
          type: 'eval',
          step: e.step,
          epoch: e.epoch,
          ...e.figures,
          warnings: e.warnings,
          ms: e.elapsedMs,
        }),
    };
  }

  /** Merges fields into run.json (e.g. parameter counts, timings). */
  async update(fields: Record<string, unknown>): Promise<void> {
    Object.assign(this.run, fields);
    await this.writeRunJson();
  }

  /**
   * Records how the attempt ended and releases the folder's lock. A `DivergedError` is recorded as
   * `divergence` (in run.json and the attempt), so that a resume must change the settings.
   */
  async finish(status: Exclude<RunStatus, 'running'>, error?: unknown): Promise<void> {
    const now = new Date().toISOString();
    this.run.status = status;
    this.run.finishedAt = now;
    const last = this.run.attempts[this.run.attempts.length - 1];
    if (last) last.endedAt = now;
    if (error !== undefined) this.run.error = error instanceof Error ? error.message : String(error);
    const divergence = divergenceOf(error);
    if (divergence) {
      this.run.divergence = divergence;
      if (last) last.divergence = divergence;
    }
    try {
      await this.writeRunJson();
    } catch (e) {
      // A failed run reports its own error (often the same full disk), not this follow-up one.
      if (status !== 'failed') throw e;
    } finally {
      await this.lock.release();
    }
  }

  get status(): RunJson {
    return this.run;
  }

  private async writeRunJson(): Promise<void> {
    this.run.updatedAt = new Date().toISOString();
    await writeJsonAtomic(join(this.dir, 'run.json'), this.run);
  }

  /** Drops metrics logged after the checkpoint a resume starts from, so no step appears twice. */
  private async truncateMetricsAfter(step: number): Promise<void> {
    const records = await this.readMetrics();
    const kept = records.filter((r) => typeof r.step !== 'number' || r.step <= step);
    // A crash between saving the checkpoint and logging it: log it now, as the run would have.
    const latest = await this.checkpoints.latest();
    const unlogged =
      latest !== undefined && !kept.some((r) => r.type === 'checkpoint' && r.step === latest.step);
    if (unlogged) kept.push({ type: 'checkpoint', step: latest.step, epoch: latest.epoch, path: latest.dir });
    if (unlogged || kept.length !== records.length) {
      await writeFileAtomic(this.metricsPath, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    }
  }
}

async function readRunJson(dir: string): Promise<RunJson | undefined> {
  try {
    return JSON.parse(await fs.readFile(join(dir, 'run.json'), 'utf8')) as RunJson;
  } catch {
    return undefined;
  }
}

/**
 * A run's status as a person should read it: a run.json that says "running" while its process is
 * gone from this host (killed with -9, a crash, a reboot) reads "stopped (process gone)"; a
 * diverged run names the step and loss.
 */
export function describeRunStatus(run: Partial<RunJson>): string {
  if (run.status === 'running' && processGone(run.pid, run.host)) {
    return `stopped (process gone: pid ${run.pid} no longer runs; --resume continues from the last checkpoint)`;
  }
  if (run.divergence) return `${run.status} (diverged: ${run.divergence.message})`;
  return run.status ?? '?';
}

function divergedResumeError(dir: string, d: DivergenceRecord, retuneKeys: string[]): SkinganError {
  const from = d.checkpointStep === null ? 'step 0' : `its checkpoint at step ${d.checkpointStep}`;
  return new SkinganError(
    `this run diverged at step ${d.step} (${lossName(d.loss)} = ${typeof d.value === 'number' ? formatLoss(d.value) : d.value}); resuming it unchanged from ${from} would replay the divergence`,
    {
      code: 'USAGE',
      file: dir,
      hint: `resume with a lower learning rate${retuneKeys.length ? ` (config ${retuneKeys.join(', ')})` : ''}, or pass --resume-diverged to retry the same settings`,
    },
  );
}

/** Top-level keys whose values differ, ignoring `allowed`. */
export function compareConfig(a: unknown, b: unknown, allowed: string[] = []): string[] {
  const ra = (a ?? {}) as Record<string, unknown>;
  const rb = (b ?? {}) as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  return [...keys]
    .filter((k) => !allowed.includes(k) && JSON.stringify(ra[k]) !== JSON.stringify(rb[k]))
    .sort();
}
