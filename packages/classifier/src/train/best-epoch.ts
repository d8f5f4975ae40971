import type { Callback, EpochEvent, LoopContext } from '@skingan/core';
import type * as tf from '@tensorflow/tfjs';

/** One trained epoch, as the learner's result and checkpoints list it. */
export interface EpochRecord {
  epoch: number;
  phase: number;
  frozen: boolean;
  steps: number;
  trainLoss: number;
  valLoss?: number;
  valAccuracy?: number;
  valBalancedAccuracy?: number;
  ms: number;
}

/** The learner's own part of each checkpoint's state (the layout of every version). */
export type LearnerState = {
  /** Global epochs trained. */
  epochsDone: number;
  /** The global epoch to train next (after an early stop: the next phase's first). */
  nextEpoch: number;
  step: number;
  best: EpochRecord | null;
  badEpochs: number;
  stoppedEarly: boolean;
  history: EpochRecord[];
};

export interface BestEpochOptions {
  /** `warmupEnd`: the first epoch after the one-cycle warm-up (the learning rate rising). */
  phase: { index: number; frozen: boolean; end: number; warmupEnd: number };
  /**
   * Epochs without a better validation balanced accuracy before the phase stops, not counting the
   * warm-up's, whose rising learning rate makes validation worse by design; null: never.
   */
  patience: number | null | undefined;
  /** Copies of the classifier's weights now. */
  snapshot: () => tf.Tensor[];
  /** Writes the weights now as the run's `best/` (after the checkpoint that names that epoch). */
  saveBest?: ((epoch: number) => Promise<void>) | undefined;
}

/**
 * The learner's epoch bookkeeping: the history, the best epoch by validation balanced accuracy
 * (its weights kept in memory, and in `best/` once the checkpoint naming it is written) and early
 * stopping of the phase (`loop.stop(…, 'completed')`, the next phase follows). Order −5: before the
 * loggers, as the record is the state a checkpoint saves.
 */
export class BestEpochCallback implements Callback {
  readonly order = -5;
  private pendingBest: number | undefined;

  constructor(
    private readonly state: LearnerState,
    /** The best epoch's weights (in memory); the learner restores them at the end. */
    readonly best: { weights: tf.Tensor[] | null },
    private readonly options: BestEpochOptions,
  ) {}

  afterEpoch(loop: LoopContext, e: EpochEvent): void {
    const { state, options } = this;
    const record: EpochRecord = {
      epoch: e.epoch,
      phase: options.phase.index,
      frozen: options.phase.frozen,
      steps: loop.stepInEpoch,
      trainLoss: e.losses.loss ?? 0,
      ms: Math.round(e.elapsedMs),
    };
    const score = e.metrics?.valBalancedAccuracy;
    let earlyStop = false;
    if (score !== undefined) {
      record.valLoss = e.losses.valLoss!;
      record.valAccuracy = e.metrics!.valAccuracy!;
      record.valBalancedAccuracy = score;
      if (!state.best || score > (state.best.valBalancedAccuracy ?? -1)) {
        state.best = record;
        state.badEpochs = 0;
        for (const t of this.best.weights ?? []) t.dispose();
        this.best.weights = options.snapshot();
        this.pendingBest = e.epoch;
      } else if (e.epoch >= options.phase.warmupEnd) {
        state.badEpochs += 1;
        earlyStop =
          options.patience !== null && options.patience !== undefined && state.badEpochs >= options.patience;
      }
    }
    state.history.push(record);
    state.epochsDone += 1;
    state.nextEpoch = earlyStop ? options.phase.end : e.epoch + 1;
    if (earlyStop) {
      state.stoppedEarly = true;
      loop.stop(
        `phase ${options.phase.index + 1}: no better validation balanced accuracy for ${options.patience} epochs, stopping it`,
        'completed',
      );
    }
  }

  async onCheckpoint(): Promise<void> {
    // best/ after the checkpoint that names it: a crash between leaves a checkpoint whose own
    // weights are the best, which a resume takes (see Learner.readBest).
    if (this.pendingBest === undefined) return;
    const epoch = this.pendingBest;
    this.pendingBest = undefined;
    await this.options.saveBest?.(epoch);
  }
}
