import type { StepEvent } from '../events.js';
import type { CheckpointStore } from '../run/checkpoint-store.js';
import {
  DivergedError,
  type Divergence,
  DivergenceGuard,
  lastGoodCheckpoint,
} from '../run/divergence-guard.js';
import type { Callback, LoopContext } from './callback.js';
import { TrainingSnapshot } from './snapshot.js';

export interface DivergenceCallbackOptions {
  /** What diverged, for the message ("ACGAN training"). */
  what: string;
  /** What to change, for the error's hint. */
  hint: string | ((d: Divergence) => string);
  /** The check (default: a new `DivergenceGuard`); pass one whose state the model checkpoints. */
  guard?: Pick<DivergenceGuard, 'check'>;
  /** Where the last good checkpoint is looked up (and suspect ones set aside). */
  store?: CheckpointStore | undefined;
  /**
   * Hold the weights, optimizer state and JSON state before every step (no copy: see
   * `TrainingSnapshot`), and put them back when a step's losses are NaN/inf, so the networks in
   * memory are the last good ones. Needs real `tf.Optimizer`s.
   */
  rollback?: boolean;
}

/**
 * Stops training when a step's losses are NaN/±inf or explode (core's `DivergenceGuard`), with a
 * `DivergedError` naming the step, the loss and the last good checkpoint (later ones, which hold
 * the weights that produced it, are set aside). Runs before the loggers (order −20), so the
 * diverged step is not logged: a resume starts before it.
 */
export class DivergenceCallback implements Callback {
  readonly order = -20;
  private readonly guard: Pick<DivergenceGuard, 'check'>;
  private before:
    | { snapshot: TrainingSnapshot; state: Record<string, unknown>; at: { step: number; epoch: number } }
    | undefined;

  constructor(private readonly options: DivergenceCallbackOptions) {
    this.guard = options.guard ?? new DivergenceGuard();
  }

  async beforeStep(loop: LoopContext): Promise<void> {
    if (!this.options.rollback) return;
    this.release();
    const { models, optimizers } = loop.model;
    const snapshot = await TrainingSnapshot.take(Object.values(models), Object.values(optimizers ?? {}));
    this.before = { snapshot, state: loop.captureState(), at: { step: loop.step, epoch: loop.epoch } };
  }

  async afterStep(loop: LoopContext, e: StepEvent): Promise<void> {
    const d = this.guard.check(loop.step, e.losses);
    const before = this.before;
    this.before = undefined;
    if (d?.kind === 'non-finite' && before) {
      await before.snapshot.restore();
      loop.applyState(before.state, before.at);
    } else {
      before?.snapshot.dispose();
    }
    if (d) throw await divergedError(this.options, d);
  }

  onError(): void {
    this.release();
  }

  private release(): void {
    this.before?.snapshot.dispose();
    this.before = undefined;
  }
}

/** The `DivergedError` for `d`, after setting aside the checkpoints that hold its weights. */
export async function divergedError(
  options: Pick<DivergenceCallbackOptions, 'what' | 'hint' | 'store'>,
  d: Divergence,
): Promise<DivergedError> {
  const good = await lastGoodCheckpoint(options.store, d);
  const hint = typeof options.hint === 'function' ? options.hint(d) : options.hint;
  return new DivergedError(options.what, d, { ...good, hint });
}
