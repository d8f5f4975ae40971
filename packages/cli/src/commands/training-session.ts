import { join } from 'node:path';
import { CheckpointStore, combineObservers, type TrainingObserver } from '@skingan/core';
import { Progress, trainingProgress } from '../ui/progress.js';
import { onStopSignals } from '../ui/stop-signals.js';
import { evalPrinter } from './quality-eval.js';

/**
 * What the three `train` commands share around their trainer: the step a resumed run starts at, a
 * progress bar over the steps left, SIGINT/SIGTERM as a stop at the next safe point, and the
 * closing line that says how to resume a stopped run.
 */
interface TrainingSession {
  readonly progress: Progress;
  /** The bar's observer: one line per epoch, the step count and losses on the bar. */
  readonly bar: TrainingObserver;
  readonly signal: AbortSignal;
  /** Date.now() when the session started. */
  readonly started: number;
  /** The bar with the losses reduced to the totals shown (metrics.jsonl keeps every term), and evaluations printed. */
  ganObserver(totals: (losses: Record<string, number>) => Record<string, number>): TrainingObserver;
  /** Prints `done`, or for a stopped run how to resume it (and sets the signal's exit code). */
  finish(stopped: boolean, step: number, done: string): void;
  /** Removes the signal handlers (call in `finally`). */
  dispose(): void;
}

interface TrainingSessionOptions {
  /** Command label: 'acgan', 'cyclegan', 'classifier'. */
  label: string;
  epochs: number;
  stepsPerEpoch: number;
  /** Where a resumed run starts (`resumeStep`), else 0. */
  firstStep: number;
  /** The --out flag as given, for the resume hint. */
  out: string;
  json?: boolean;
  /** What a stop signal does, e.g. "stopping after this step and saving a checkpoint". */
  onStop: string;
}

/** The step of the newest checkpoint under `runDir` when resuming, else 0. */
export async function resumeStep(runDir: string, resume: boolean | undefined): Promise<number> {
  if (!resume) return 0;
  return (await new CheckpointStore(join(runDir, 'checkpoints')).latest())?.step ?? 0;
}

/** A parameter count for the summary lines: `1.23M` or `45.6k`. */
export function formatParams(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`;
}

export function startTrainingSession(o: TrainingSessionOptions): TrainingSession {
  const progress = new Progress({
    label: o.label,
    total: o.epochs * o.stepsPerEpoch - o.firstStep,
    unit: 'steps',
    quiet: o.json,
  });
  const bar = trainingProgress(progress, o.epochs, o.firstStep);
  const stop = onStopSignals((l) => progress.log(l), o.onStop);
  return {
    progress,
    bar,
    signal: stop.signal,
    started: Date.now(),
    ganObserver: (totals) =>
      combineObservers(
        {
          onStep: (e) => bar.onStep?.({ ...e, losses: totals(e.losses) }),
          onEpoch: (e) => bar.onEpoch?.({ ...e, losses: totals(e.losses) }),
        },
        evalPrinter(
          (l) => progress.log(l),
          // Warnings reach stderr even with --json, which silences the bar.
          (l) => (o.json ? process.stderr.write(`skingan: ${l}\n`) : progress.log(l)),
        ),
      ),
    finish(stopped, step, done) {
      progress.finish(
        stopped ? `${o.label}: stopped at step ${step}; continue with --resume --out ${o.out}` : done,
      );
      if (stopped) process.exitCode = stop.exitCode;
    },
    dispose: () => stop.dispose(),
  };
}
