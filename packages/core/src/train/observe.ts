import type { TrainingObserver } from '../events.js';
import type { RunFolder } from '../run/run-folder.js';
import type { Callback } from './callback.js';

/** A `TrainingObserver` (progress bar, logger) as a callback: it sees every event, stops nothing. */
export function observe(observer: TrainingObserver | undefined): Callback | undefined {
  if (!observer) return undefined;
  return {
    afterStep: (_, e) => observer.onStep?.(e),
    afterEpoch: (_, e) => observer.onEpoch?.(e),
    onCheckpoint: (e) => observer.onCheckpoint?.(e),
    onEval: (e) => observer.onEval?.(e),
  };
}

/** Writes every step, epoch, checkpoint and eval event to the run's metrics.jsonl. */
export function metricsLog(run: Pick<RunFolder, 'metricsObserver'>): Callback {
  return observe(run.metricsObserver())!;
}
