import type { EpochEvent, EvalEvent } from '../events.js';
import type { Callback, LoopContext } from './callback.js';
import { Monitored, type MonitoredState, type MonitorOptions } from './monitored.js';

/**
 * Calls `save` whenever the monitored value reaches a new best (e.g. `saveModel` of the networks
 * into the run's `best/`, or a copy of the weights kept in memory). The best so far is
 * checkpointed. Order 30 (after evaluations).
 */
export class SaveBest implements Callback {
  readonly order = 30;
  readonly stateKey: string | undefined;
  private readonly monitored: Monitored;

  constructor(
    options: MonitorOptions,
    private readonly save: (loop: LoopContext, value: number) => Promise<void> | void,
  ) {
    this.monitored = new Monitored(options);
    this.stateKey = options.stateKey === null ? undefined : (options.stateKey ?? 'saveBest');
  }

  /** The best value and its (0-based) epoch so far. */
  get best(): MonitoredState {
    return { ...this.monitored.state };
  }

  onEval(e: EvalEvent): void {
    this.monitored.onEval(e);
  }

  async afterEpoch(loop: LoopContext, e: EpochEvent): Promise<void> {
    const judged = this.monitored.judge(e);
    if (judged?.improved) await this.save(loop, judged.value);
  }

  getState(): MonitoredState {
    return this.best;
  }

  setState(state: unknown): void {
    this.monitored.setState(state as MonitoredState | undefined);
  }
}
