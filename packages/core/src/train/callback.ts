import type * as tf from '@tensorflow/tfjs';
import type { CheckpointEvent, EpochEvent, EvalEvent, StepEvent } from '../events.js';
import type { CheckpointRef } from '../run/checkpoint-store.js';

/** What a model's `step` returns: every named loss term, and other scalars (accuracies...). */
export interface StepOutput {
  losses: Record<string, number>;
  metrics?: Record<string, number>;
}

/**
 * The model-specific part of training: one optimization step on a batch, and what a checkpoint
 * holds. Everything else (epochs, checkpoints, metrics, divergence, samples) is the loop's and its
 * callbacks'.
 */
export interface TrainModel<B> {
  /** One optimization step. The loop disposes the batch afterwards (`disposeBatch`). */
  step(batch: B): StepOutput | Promise<StepOutput>;
  /** Frees a batch once stepped (or skipped by a stop). */
  disposeBatch?(batch: B): void;
  /** Networks saved in each checkpoint and restored in place on resume (and held by a rollback). */
  readonly models: Record<string, tf.LayersModel>;
  /** Optimizer state saved with them (anything with tf.Optimizer's getWeights/setWeights). */
  readonly optimizers?: Record<string, tf.Optimizer>;
  /** Networks of `models` that checkpoints of older versions may lack (`setState` then resets them). */
  readonly optionalModels?: readonly string[];
  /** JSON state beside the weights (random streams, counters), merged into the checkpoint's state. */
  getState?(): Record<string, unknown>;
  setState?(state: Record<string, unknown>): void;
  /**
   * Figures on held-out data at each epoch's end (fastai's validation pass), added to the epoch
   * event: `losses` beside the training loss, `metrics` beside the step metrics' means.
   */
  validate?(): Promise<Omit<StepOutput, 'losses'> & { losses?: Record<string, number> }>;
}

/** Epochs of batches: core's `BatchSource` is one (B = Batch). */
export interface EpochSource<B> {
  readonly stepsPerEpoch: number;
  /** One epoch's batches; `skipBatches` starts mid-epoch (on resume). */
  epoch(epoch: number, options?: { skipBatches?: number }): AsyncIterable<B>;
}

/** How `fit` ended. `stopped`: by a signal, `maxSteps`, `loop.stop()` or `CancelFitError`; resumable. */
export interface FitResult {
  status: 'completed' | 'stopped';
  /** Steps done in total (with those of earlier attempts), and the epoch in progress (0-based). */
  step: number;
  epoch: number;
  /** The step this fit started from (a resumed run's checkpoint step; 0 for a fresh run). */
  startStep: number;
  /** The last step's losses and metrics. */
  last: StepOutput | undefined;
  /** The newest checkpoint written or resumed from. */
  checkpoint: CheckpointRef | undefined;
  /** Why it stopped early, when a callback said (`loop.stop(reason)`, `CancelFitError`). */
  reason?: string;
}

/** Where training stands, and what a callback may do to it. */
export interface LoopContext {
  readonly step: number;
  /** The epoch in progress (0-based), and the steps of it done. */
  readonly epoch: number;
  readonly stepInEpoch: number;
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly last: StepOutput | undefined;
  /** The newest checkpoint written (reported) or resumed from. */
  readonly checkpoint: CheckpointRef | undefined;
  readonly model: TrainModel<unknown>;
  /**
   * Ends the fit cleanly after the current step (or epoch end): checkpoint, then `stopped`
   * (resumable), or `completed` for a run that is done (early stopping).
   */
  stop(reason?: string, status?: FitResult['status']): void;
  readonly stopRequested: boolean;
  /** A scalar shown with the next step's metrics (and the epoch's): a learning rate, say. */
  setMetric(name: string, value: number): void;
  /** Sends a checkpoint or eval event to every callback (metrics.jsonl, progress, early stopping). */
  report(e: CheckpointEvent | EvalEvent): Promise<void>;
  /** Saves a checkpoint now, through the fit's `CheckpointCallback` (none: undefined). */
  saveCheckpoint(): Promise<CheckpointRef | undefined>;
  /** The JSON state a checkpoint holds (loop position, model and callback states), and back. */
  captureState(): Record<string, unknown>;
  /** With `at`, also moves the step/epoch counters there (a rollback, a resume). */
  applyState(state: Record<string, unknown>, at?: { step: number; epoch: number }): void;
}

type Awaitable = void | Promise<void>;

/**
 * Hooks into the loop, as fastai's callbacks: each event goes to every callback in `order` (lower
 * first; default 0). A callback stops training with `loop.stop()` (after this step) or by throwing
 * `CancelFitError` (at once); any other error ends the fit with that error.
 */
export interface Callback {
  readonly order?: number;
  /** Key of this callback's state in checkpoints (restored before `beforeFit`). */
  readonly stateKey?: string;
  getState?(): unknown;
  setState?(state: unknown): void;
  beforeFit?(loop: LoopContext): Awaitable;
  beforeEpoch?(loop: LoopContext): Awaitable;
  beforeStep?(loop: LoopContext): Awaitable;
  afterStep?(loop: LoopContext, e: StepEvent): Awaitable;
  afterEpoch?(loop: LoopContext, e: EpochEvent): Awaitable;
  /** After a fit that completed or stopped (not after an error). */
  afterFit?(loop: LoopContext, result: FitResult): Awaitable;
  /** When a step or a callback threw (not `CancelFitError`): free what is held. */
  onError?(loop: LoopContext, error: unknown): Awaitable;
  onCheckpoint?(e: CheckpointEvent): Awaitable;
  onEval?(e: EvalEvent): Awaitable;
}

/** Thrown by a callback to end the fit at once, as stopped (resumable) with the message as reason. */
export class CancelFitError extends Error {
  constructor(reason = 'cancelled') {
    super(reason);
    this.name = 'CancelFitError';
  }
}
