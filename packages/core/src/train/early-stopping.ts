import type { EpochEvent, EvalEvent } from '../events.js';
import type { Callback, LoopContext } from './callback.js';
import { Monitored, type MonitoredState, type MonitorOptions } from './monitored.js';

/**
 * Ends training (as `completed`, with a reason) when the monitored value has not improved for
 * `patience` epochs in a row. Its count is checkpointed, so a resumed run stops where an
 * uninterrupted one would. Order 30 (after evaluations).
 */
export class EarlyStopping implements Callback {
  readonly order = 30;
  readonly stateKey = 'earlyStopping';
  private readonly monitored: Monitored;

  constructor(private readonly options: MonitorOptions & { patience: number }) {
    this.monitored = new Monitored(options);
  }

  onEval(e: EvalEvent): void {
    this.monitored.onEval(e);
  }

  afterEpoch(loop: LoopContext, e: EpochEvent): void {
    const judged = this.monitored.judge(e);
    const { wait, best, bestEpoch } = this.monitored.state;
    if (!judged || judged.improved || wait < this.options.patience) return;
    loop.stop(
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
