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

export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

export interface RunJson {
  kind: string;
  status: RunStatus;
  backend: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt?: string;
  /** Wall time spent in each attempt (a resumed run has several). */
  attempts: { startedAt: string; endedAt?: string; fromStep: number }[];
  error?: string;
  [extra: string]: unknown;
}

export interface OpenRunOptions<C> {
  /** What trains here ('acgan', 'cyclegan', 'classifier'...), recorded in run.json. */
  kind: string;
  /** The resolved config, written to config.json. */
  config: C;
  /** Continue an existing run: its config.json must be compatible (see `compareConfig`). */
  resume?: boolean;
  /** Checkpoints to keep. */
  keepCheckpoints?: number;
  /** Config keys that may differ on resume (e.g. epochs, to train longer). */
  resumableKeys?: string[];
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
    keepCheckpoints?: number,
  ) {
    this.checkpoints = new CheckpointStore(join(dir, 'checkpoints'), keepCheckpoints);
    this.samplesDir = join(dir, 'samples');
    this.metricsPath = join(dir, 'metrics.jsonl');
  }

  static async open<C>(dir: string, options: OpenRunOptions<C>): Promise<RunFolder<C>> {
    const abs = resolve(dir);
    const configPath = join(abs, 'config.json');
    const exists = await pathExists(configPath);
    if (exists && !options.resume) {
      throw new SkinganError('a run already exists here', {
        code: 'USAGE',
        file: abs,
        hint: 'pass --resume to continue it, or choose another --out folder',
      });
    }
    let config = options.config;
    if (exists) {
      const saved = JSON.parse(await fs.readFile(configPath, 'utf8')) as C;
      const diff = compareConfig(saved, options.config, options.resumableKeys ?? []);
      if (diff.length) {
        throw new SkinganError(`--resume with a different config (${diff.join(', ')})`, {
          code: 'USAGE',
          file: configPath,
          hint: 'resume with the same settings, or start a new run in another folder',
        });
      }
      config = options.config;
    }
    const run = new RunFolder<C>(abs, config, options.keepCheckpoints);
    await fs.mkdir(run.samplesDir, { recursive: true });
    await fs.mkdir(run.checkpoints.dir, { recursive: true });
    // What a killed process left half-written (its checkpoints' temps go at the next save).
    for (const d of [abs, run.samplesDir]) await removeStaleTemps(d);
    await writeJsonAtomic(configPath, config);
    const now = new Date().toISOString();
    const previous = exists ? await readRunJson(abs) : undefined;
    const latest = exists ? await run.checkpoints.latest() : undefined;
    // Steps after the checkpoint we resume from will be logged again (all of them without one).
    if (exists) await run.truncateMetricsAfter(latest?.step ?? 0);
    run.run = {
      ...(previous ?? {}),
      kind: options.kind,
      status: 'running',
      backend: backendInfo()?.name ?? null,
      startedAt: previous?.startedAt ?? now,
      updatedAt: now,
      attempts: [...(previous?.attempts ?? []), { startedAt: now, fromStep: latest?.step ?? 0 }],
    };
    delete run.run.error;
    delete run.run.finishedAt;
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

  /** An observer that writes every step and epoch event to metrics.jsonl. */
  metricsObserver(): TrainingObserver {
    return {
      onStep: (e) =>
        this.log({ type: 'step', step: e.step, epoch: e.epoch, ...e.losses, ...e.metrics, ms: e.elapsedMs }),
      onEpoch: (e) =>
        this.log({ type: 'epoch', step: e.step, epoch: e.epoch, ...e.losses, ...e.metrics, ms: e.elapsedMs }),
      onCheckpoint: (e) => this.log({ type: 'checkpoint', step: e.step, epoch: e.epoch, path: e.path }),
    };
  }

  /** Merges fields into run.json (e.g. parameter counts, timings). */
  async update(fields: Record<string, unknown>): Promise<void> {
    Object.assign(this.run, fields);
    await this.writeRunJson();
  }

  async finish(status: Exclude<RunStatus, 'running'>, error?: unknown): Promise<void> {
    const now = new Date().toISOString();
    this.run.status = status;
    this.run.finishedAt = now;
    const last = this.run.attempts[this.run.attempts.length - 1];
    if (last) last.endedAt = now;
    if (error !== undefined) this.run.error = error instanceof Error ? error.message : String(error);
    try {
      await this.writeRunJson();
    } catch (e) {
      // A failed run reports its own error (often the same full disk), not this follow-up one.
      if (status !== 'failed') throw e;
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
      await writeJsonLines(this.metricsPath, kept);
    }
  }
}

async function writeJsonLines(path: string, records: unknown[]): Promise<void> {
  await writeFileAtomic(path, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

async function readRunJson(dir: string): Promise<RunJson | undefined> {
  try {
    return JSON.parse(await fs.readFile(join(dir, 'run.json'), 'utf8')) as RunJson;
  } catch {
    return undefined;
  }
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
