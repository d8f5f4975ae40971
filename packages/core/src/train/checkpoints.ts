import type { CheckpointRef, CheckpointStore } from '../run/checkpoint-store.js';
import type { Callback, LoopContext } from './callback.js';

export interface CheckpointOptions {
  /** Also every this many steps (0: never). */
  every?: number;
  /** At the end of every epoch. */
  everyEpoch?: boolean;
  /**
   * Also when the fit ends or stops (default true). false: a stop mid-epoch leaves the last
   * periodic checkpoint (for a model whose resume restarts the epoch in progress).
   */
  final?: boolean;
  /**
   * The epoch a checkpoint names (manifest, event): default the one a resume starts in; the
   * classifier names the epoch just finished, as its checkpoints always have.
   */
  epochLabel?: (loop: LoopContext) => number;
}

/**
 * Writes checkpoints (networks, optimizers, the loop's, model's and callbacks' state) into a
 * `CheckpointStore`: every `every` steps, after each epoch with `everyEpoch`, and when the fit ends
 * or stops; `TrainingLoop.resumeFrom` continues from them. A save that falls due on a step is made
 * when the next step begins, or after the epoch's end when that step was its last, so that a
 * checkpoint on an epoch's last step already holds the finished epoch (its samples, evaluation).
 * Runs last (order 100).
 */
export class CheckpointCallback implements Callback {
  readonly order = 100;
  private due = false;

  constructor(
    readonly store: CheckpointStore,
    private readonly options: CheckpointOptions = {},
  ) {}

  afterStep(loop: LoopContext): void {
    const every = this.options.every ?? 0;
    if (every > 0 && loop.step % every === 0) this.due = true;
  }

  afterEpoch(): void {
    if (this.options.everyEpoch) this.due = true;
  }

  async beforeStep(loop: LoopContext): Promise<void> {
    if (this.due) await this.saveNow(loop);
  }

  async beforeEpoch(loop: LoopContext): Promise<void> {
    if (this.due) await this.saveNow(loop);
  }

  async afterFit(loop: LoopContext): Promise<void> {
    if (this.due || (this.options.final ?? true)) await this.saveNow(loop);
  }

  /** Saves the current state, unless a checkpoint of this step exists (`loop.saveCheckpoint()`). */
  async saveNow(loop: LoopContext): Promise<CheckpointRef | undefined> {
    this.due = false;
    if (loop.checkpoint?.step === loop.step) return loop.checkpoint;
    const { models, optimizers } = loop.model;
    const ref = await this.store.save({
      step: loop.step,
      epoch: this.options.epochLabel?.(loop) ?? loop.epoch,
      models,
      ...(optimizers ? { optimizers } : {}),
      state: loop.captureState(),
    });
    await loop.report({ kind: 'checkpoint', step: ref.step, epoch: ref.epoch, path: ref.dir });
    return ref;
  }
}
