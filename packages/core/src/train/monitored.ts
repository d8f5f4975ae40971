import type { EpochEvent, EvalEvent } from '../events.js';

export interface MonitorOptions {
  /** The epoch mean of a loss or metric (`on: 'epoch'`), or an eval figure (`on: 'eval'`). */
  monitor: string;
  mode?: 'min' | 'max';
  /** An improvement smaller than this does not count. */
  minDelta?: number;
  on?: 'epoch' | 'eval';
}

export interface MonitoredState {
  best: number | null;
  bestEpoch: number | null;
  /** Epochs since the best. */
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
    const { monitor, on = 'epoch', mode = 'min', minDelta = 0 } = this.options;
    const value = on === 'eval' ? this.figure : (e.losses[monitor] ?? e.metrics?.[monitor]);
    this.figure = undefined;
    if (value === undefined || !Number.isFinite(value)) return undefined;
    const best = this.state.best;
    const improved = best === null || (mode === 'min' ? value < best - minDelta : value > best + minDelta);
    this.state = improved
      ? { best: value, bestEpoch: e.epoch, wait: 0 }
      : { ...this.state, wait: this.state.wait + 1 };
    return { value, improved };
  }

  setState(s: MonitoredState | undefined): void {
    this.state = s ? { ...s } : { best: null, bestEpoch: null, wait: 0 };
  }
}
