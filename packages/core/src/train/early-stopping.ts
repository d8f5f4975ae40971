import type { EpochEvent, EvalEvent } from '../events.js';
import type { Callback, LoopContext } from './callback.js';
import { Monitored, type MonitoredState, type MonitorOptions } from './monitored.js';

export interface EarlyStoppingOptions extends MonitorOptions {
  patience: number;
  /** The stop's reason (default: the value, the epochs without improvement and the best). */
  reason?: (state: MonitoredState) => string;
}

/**
 * Ends training (as `completed`, with a reason) when the monitored value has not improved for
 * `patience` epochs in a row (after `warmupEnd`). Its count is checkpointed, so a resumed run stops
 * where an uninterrupted one would. Order 30 (after evaluations).
 */
export class EarlyStopping implements Callback {
  readonly order = 30;
  readonly stateKey: string | undefined;
  /** It has ended training (after the last epoch it judged). */
  stopped = false;
  private readonly monitored: Monitored;

  constructor(private readonly options: EarlyStoppingOptions) {
    this.monitored = new Monitored(options);
    this.stateKey = options.stateKey === null ? undefined : (options.stateKey ?? 'earlyStopping');
  }

  onEval(e: EvalEvent): void {
    this.monitored.onEval(e);
  }

  afterEpoch(loop: LoopContext, e: EpochEvent): void {
    const judged = this.monitored.judge(e);
    const { wait, best, bestEpoch } = this.monitored.state;
    if (!judged || judged.improved || wait < this.options.patience) return;
    this.stopped = true;
    loop.stop(
      this.options.reason?.(this.monitored.state) ??
        `${this.options.monitor} has not improved for ${wait} epochs (best ${best} after epoch ${bestEpoch! + 1})`,
      'completed',
    );
  }

  getState(): MonitoredState {
    return { ...this.monitored.state };
  }

  setState(state: unknown): void {
    this.monitored.setState(state as MonitoredState | undefined);
  }
}
