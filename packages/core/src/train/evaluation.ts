import type { EpochEvent, EvalPoint, Evaluation } from '../events.js';
import type { Callback, LoopContext } from './callback.js';

/**
 * The per-epoch quality figures: every `every` epochs calls `evaluate` (the model package's
 * function: e.g. @skingan/metrics' `QualityProbe` on generated images) and reports what it returns
 * as an `eval` event (metrics.jsonl, warnings, early stopping on a figure). Order 20.
 */
export class EvalCallback implements Callback {
  readonly order = 20;

  constructor(
    private readonly every: number,
    private readonly evaluate: (at: EvalPoint) => Promise<Evaluation | undefined>,
  ) {}

  async afterEpoch(loop: LoopContext, e: EpochEvent): Promise<void> {
    if (this.every <= 0 || (e.epoch + 1) % this.every !== 0) return;
    const t0 = performance.now();
    const evaluation = await this.evaluate({ epoch: e.epoch, step: e.step, final: e.epoch + 1 === e.epochs });
    if (!evaluation) return;
    await loop.report({
      kind: 'eval',
      epoch: e.epoch,
      step: e.step,
      ...evaluation,
      elapsedMs: performance.now() - t0,
    });
  }
}
