import type { Callback, LoopContext } from './callback.js';

export interface SampleOptions {
  /** Also after every this many steps (0: only at epoch ends). */
  everySteps?: number;
  /** Draws and hands over the model's sample grids (the model package's function). */
  emit: (at: { step: number; epoch: number }) => Promise<void> | void;
}

/**
 * Sample grids after each epoch (unless one was just drawn at its last step) and every
 * `everySteps` steps. Runs after the loggers, before evaluations (order 10).
 */
export class SampleCallback implements Callback {
  readonly order = 10;

  constructor(private readonly options: SampleOptions) {}

  async afterStep(loop: LoopContext): Promise<void> {
    if (this.dueAt(loop.step)) await this.options.emit({ step: loop.step, epoch: loop.epoch });
  }

  async afterEpoch(loop: LoopContext): Promise<void> {
    if (!this.dueAt(loop.step)) await this.options.emit({ step: loop.step, epoch: loop.epoch });
  }

  private dueAt(step: number): boolean {
    const every = this.options.everySteps ?? 0;
    return every > 0 && step % every === 0;
  }
}
