/** Emitted after every optimization step. `losses` holds every named loss term of the model. */
export interface StepEvent {
  kind: 'step';
  step: number;
  epoch: number;
  /** 0-based step within the epoch, and the epoch's step count when known. */
  stepInEpoch: number;
  stepsPerEpoch?: number;
  losses: Record<string, number>;
  /** Other scalars: accuracies, learning rate, etc. */
  metrics?: Record<string, number>;
  elapsedMs: number;
}

export interface EpochEvent {
  kind: 'epoch';
  epoch: number;
  epochs: number;
  step: number;
  /** Mean of each loss over the epoch. */
  losses: Record<string, number>;
  metrics?: Record<string, number>;
  elapsedMs: number;
}

export interface CheckpointEvent {
  kind: 'checkpoint';
  step: number;
  epoch: number;
  path: string;
}

/**
 * A measurement of the generator during training (every `eval.every` epochs; e.g. @skingan/metrics'
 * QualityProbe: FID, KID, within-class diversity, class fidelity).
 */
export interface EvalEvent {
  kind: 'eval';
  step: number;
  epoch: number;
  /** The figures, as flat JSON fields (written to metrics.jsonl as they are). */
  figures: Record<string, unknown>;
  /** What a person should look at: mode collapse, a rising FID. */
  warnings: string[];
  elapsedMs: number;
}

/** Where training is when a trainer's `evaluate` hook is called. */
export interface EvalPoint {
  epoch: number;
  step: number;
  /** The run's last epoch (a time budget should not skip it). */
  final: boolean;
}

/** What a trainer's `evaluate` hook returns: figures and warnings for the `EvalEvent` (undefined: skipped). */
export interface Evaluation {
  figures: Record<string, unknown>;
  warnings: string[];
}

export type TrainingEvent = StepEvent | EpochEvent | CheckpointEvent | EvalEvent;

/** Receives training events: progress bars, metrics.jsonl writers, early stopping... */
export interface TrainingObserver {
  onStep?(e: StepEvent): void | Promise<void>;
  onEpoch?(e: EpochEvent): void | Promise<void>;
  onCheckpoint?(e: CheckpointEvent): void | Promise<void>;
  onEval?(e: EvalEvent): void | Promise<void>;
}

/** Fans one event out to several observers, in order. */
export function combineObservers(...observers: (TrainingObserver | undefined)[]): TrainingObserver {
  const list = observers.filter((o): o is TrainingObserver => o !== undefined);
  return {
    async onStep(e) {
      for (const o of list) await o.onStep?.(e);
    },
    async onEpoch(e) {
      for (const o of list) await o.onEpoch?.(e);
    },
    async onCheckpoint(e) {
      for (const o of list) await o.onCheckpoint?.(e);
    },
    async onEval(e) {
      for (const o of list) await o.onEval?.(e);
    },
  };
}
