import type { EpochEvent, EvalEvent } from '../events.js';

export interface MonitorOptions {
  /** The epoch mean of a loss or metric (`on: 'epoch'`), or an eval figure (`on: 'eval'`). */
  monitor: string;
  mode?: 'min' | 'max';
  /** An improvement smaller than this does not count. */
  minDelta?: number;
  on?: 'epoch' | 'eval';
  /**
   * The first epoch (0-based) whose lack of improvement counts towards `wait`: the epochs before it
   * are a warm-up (one-cycle's rising learning rate makes them worse by design). A new best there
   * still counts.
   */
  warmupEnd?: number;
  /**
   * Key of the callback's state in checkpoints (early stopping's and save-best's own by default);
   * null: the loop does not checkpoint it, its owner keeps it in its own state.
   */
  stateKey?: string | null;
}

export interface MonitoredState {
  best: number | null;
  bestEpoch: number | null;
  /** Epochs since the best (not counting those of the warm-up). */
  wait: number;
}

/** The best value so far of one monitored quantity: what early stopping and save-best share. */
export class Monitored {
  state: MonitoredState = { best: null, bestEpoch: null, wait: 0 };
  private figure: number | undefined;

  constructor(readonly options: MonitorOptions) {}

  /** Remembers the monitored eval figure, for the epoch end that follows it. */
  onEval(e: EvalEvent): void {
    const v = e.figures[this.options.monitor];
    if ((this.options.on ?? 'epoch') === 'eval' && typeof v === 'number') this.figure = v;
  }

  /** The epoch's value, judged: undefined when it was not measured this epoch. */
  judge(e: EpochEvent): { value: number; improved: boolean } | undefined {
    const { monitor, on = 'epoch', mode = 'min', minDelta = 0, warmupEnd = 0 } = this.options;
    const value = on === 'eval' ? this.figure : (e.losses[monitor] ?? e.metrics?.[monitor]);
    this.figure = undefined;
    if (value === undefined || !Number.isFinite(value)) return undefined;
    const best = this.state.best;
    const improved = best === null || (mode === 'min' ? value < best - minDelta : value > best + minDelta);
    if (improved) this.state = { best: value, bestEpoch: e.epoch, wait: 0 };
    else if (e.epoch >= warmupEnd) this.state = { ...this.state, wait: this.state.wait + 1 };
    return { value, improved };
  }

  setState(s: MonitoredState | undefined): void {
    this.state = s ? { ...s } : { best: null, bestEpoch: null, wait: 0 };
  }
}
