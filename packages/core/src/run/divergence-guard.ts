import { SkinganError } from '../errors.js';
import type { CheckpointStore } from './checkpoint-store.js';

/** A training step whose loss shows the run has diverged. */
export interface Divergence {
  /** `non-finite`: NaN/±inf; `exploding`: far above its recent median; the rest are trainer-specific. */
  kind: 'non-finite' | 'exploding' | 'frozen' | 'discriminator-wins';
  /** The step (1-based count of steps done) whose loss showed it. */
  step: number;
  /** The loss that showed it, and its value. */
  loss: string;
  value: number;
  /** The median of that loss over the recent steps (`exploding` only). */
  median?: number;
  message: string;
}

export interface DivergenceGuardOptions {
  /** Steps of history per loss whose median is the reference (default 50). */
  window?: number;
  /** A loss above `factor` × max(|median|, `floor`) is exploding (default 1e3). */
  factor?: number;
  /**
   * The smallest reference scale (default 1): a loss that was near 0 (a discriminator that wins
   * for a while) may jump to a few units without that being divergence.
   */
  floor?: number;
}

export interface DivergenceGuardState {
  /** Recent values per loss, oldest first. */
  recent: Record<string, number[]>;
}

/**
 * The divergence check every trainer shares: a step's losses diverge when one is NaN/±inf, or
 * explodes relative to its own running median (default: more than 1000 × the median of its last
 * 50 values, with a floor of 1 on the median's scale). Its state (the recent values) goes into
 * checkpoints, so a resumed run judges the same way as an uninterrupted one.
 *
 *   const guard = new DivergenceGuard();
 *   const d = guard.check(step, { loss });
 *   if (d) throw divergenceError('classifier training', d, { checkpoint, hint: 'lower --lr' });
 */
export class DivergenceGuard {
  private recent: Record<string, number[]> = {};
  private readonly window: number;
  private readonly factor: number;
  private readonly floor: number;

  constructor(options: DivergenceGuardOptions = {}) {
    this.window = options.window ?? 50;
    this.factor = options.factor ?? 1e3;
    this.floor = options.floor ?? 1;
  }

  /** The divergence these losses show, if any; good losses join the history. */
  check(step: number, losses: Record<string, number>): Divergence | undefined {
    const entries = Object.entries(losses);
    const bad = entries.filter(([, v]) => !Number.isFinite(v));
    if (bad.length) {
      const [loss, value] = bad[0]!;
      return {
        kind: 'non-finite',
        step,
        loss,
        value,
        message: `${bad.map(([k, v]) => `${lossName(k)} = ${v}`).join(', ')} at step ${step}`,
      };
    }
    for (const [loss, value] of entries) {
      const history = this.recent[loss];
      if (!history?.length) continue;
      const median = medianOf(history);
      if (Math.abs(value) > this.factor * Math.max(Math.abs(median), this.floor)) {
        return {
          kind: 'exploding',
          step,
          loss,
          value,
          median,
          message: `${lossName(loss)} = ${formatLoss(value)} at step ${step}, over ${formatLoss(this.factor)}× its median ${formatLoss(median)} of the last ${history.length === 1 ? 'step' : `${history.length} steps`}`,
        };
      }
    }
    for (const [loss, value] of entries) {
      const history = this.recent[loss] ?? [];
      this.recent[loss] = history;
      history.push(value);
      if (history.length > this.window) history.shift();
    }
    return undefined;
  }

  getState(): DivergenceGuardState {
    return { recent: Object.fromEntries(Object.entries(this.recent).map(([k, v]) => [k, [...v]])) };
  }

  setState(state: DivergenceGuardState | undefined): void {
    this.recent = Object.fromEntries(Object.entries(state?.recent ?? {}).map(([k, v]) => [k, [...v]]));
  }
}

/** How a diverged run is recorded in run.json (`divergence`), so `--resume` can refuse to replay it. */
export interface DivergenceRecord {
  kind: Divergence['kind'];
  step: number;
  loss: string;
  value: number | string;
  median?: number;
  /** The checkpoint step a resume starts from (the last good one), or null without one. */
  checkpointStep: number | null;
  message: string;
}

/**
 * The checkpoint a diverged run resumes from. A loss at step s is computed on the weights after
 * step s − 1: after a NaN/inf or exploding loss, a checkpoint of step s − 1 or later holds the
 * weights that produced it, so those are set aside (`suspect-step-…`, not deleted). A stall (GAN
 * losses frozen, say) leaves every checkpoint in place.
 */
export async function lastGoodCheckpoint(
  store: CheckpointStore | undefined,
  d: Divergence,
): Promise<{ checkpointStep: number | null; setAside: number[] }> {
  if (!store) return { checkpointStep: null, setAside: [] };
  if (d.kind !== 'non-finite' && d.kind !== 'exploding') {
    return { checkpointStep: (await store.latest())?.step ?? null, setAside: [] };
  }
  const { moved, latest } = await store.setAsideFrom(d.step - 1);
  return { checkpointStep: latest?.step ?? null, setAside: moved };
}

/** The `DIVERGED` error a trainer throws: names the step, the loss, the checkpoint and the likely cause. */
export class DivergedError extends SkinganError {
  readonly divergence: DivergenceRecord;

  constructor(
    what: string,
    d: Divergence,
    options: { checkpointStep: number | null; setAside?: number[]; hint: string },
  ) {
    const aside = options.setAside?.length
      ? ` The checkpoint of step ${options.setAside.join(', ')} holds the weights that produced it: moved to checkpoints/suspect-step-….`
      : '';
    const kept =
      options.checkpointStep === null
        ? ' No good checkpoint was written before it.'
        : ` The last good checkpoint (step ${options.checkpointStep}) is kept for --resume.`;
    super(`${what} diverged: ${d.message}.${aside}${kept}`, { code: 'DIVERGED', hint: options.hint });
    this.divergence = {
      kind: d.kind,
      step: d.step,
      loss: d.loss,
      // JSON has no NaN/Infinity.
      value: Number.isFinite(d.value) ? d.value : String(d.value),
      ...(d.median !== undefined ? { median: d.median } : {}),
      checkpointStep: options.checkpointStep,
      message: d.message,
    };
  }
}

/** The divergence an error carries, if it is a `DivergedError` (also across package copies). */
export function divergenceOf(e: unknown): DivergenceRecord | undefined {
  const d = (e as { divergence?: DivergenceRecord } | null)?.divergence;
  return d && typeof d.step === 'number' ? d : undefined;
}

/** The usual cause of a loss that blows up, as a hint naming the setting to change. */
export function learningRateHint(setting: string): string {
  return `the learning rate is the usual cause: resume with a lower ${setting} (\`--resume\` refuses to replay the same settings), or start a new run`;
}

/** How a loss is named in messages: "loss" alone, or "loss d" for a trainer's term `d`. */
export function lossName(key: string): string {
  return key === 'loss' ? 'loss' : `loss ${key}`;
}

function medianOf(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A loss value for messages: exponent notation when large or tiny. */
export function formatLoss(x: number): string {
  return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3)
    ? x.toExponential(2)
    : String(+x.toPrecision(4));
}
