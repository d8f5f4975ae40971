import { ONE_CYCLE_DEFAULTS, sliceLrs } from './schedule.js';

/** One `fit_one_cycle` call: epochs, what trains, and the schedule's parameters. */
export interface FitPhase {
  epochs: number;
  /** Backbone frozen: only the head trains, the backbone runs in inference mode. */
  frozen: boolean;
  /** Peak learning rate per layer group (stem+stages 1–2, stages 3–4, head). */
  lrMax: number[];
  pctStart: number;
  div: number;
  divFinal: number;
  moms: [number, number, number];
}

export const LAYER_GROUPS = 3;

export interface OneCyclePhaseOptions {
  frozen?: boolean;
  pctStart?: number;
  div?: number;
  divFinal?: number;
  moms?: readonly [number, number, number];
}

/**
 * `fit_one_cycle(epochs, lr)`: a number gives every group the same peak; `{ start, stop }` is
 * fastai's `slice(start, stop)` (discriminative), `{ stop }` its `slice(stop)`.
 */
export function oneCyclePhase(
  epochs: number,
  lr: number | { start?: number; stop: number },
  o: OneCyclePhaseOptions = {},
): FitPhase {
  return {
    epochs,
    frozen: o.frozen ?? false,
    lrMax: typeof lr === 'number' ? new Array(LAYER_GROUPS).fill(lr) : sliceLrs(lr, LAYER_GROUPS),
    pctStart: o.pctStart ?? ONE_CYCLE_DEFAULTS.pctStart,
    div: o.div ?? ONE_CYCLE_DEFAULTS.div,
    divFinal: o.divFinal ?? ONE_CYCLE_DEFAULTS.divFinal,
    moms: [...(o.moms ?? ONE_CYCLE_DEFAULTS.moms)] as [number, number, number],
  };
}

export interface FineTuneOptions {
  /** fastai: 2e-3. */
  baseLr?: number;
  /** fastai: 1. */
  freezeEpochs?: number;
  /** Ratio between the head's and the first group's learning rate; fastai: 100. */
  lrMult?: number;
  /** Warm-up share of the unfrozen phase; fastai: 0.3. */
  pctStart?: number;
  /** fastai: 5 for the unfrozen phase. */
  div?: number;
  divFinal?: number;
  moms?: readonly [number, number, number];
}

export const FINE_TUNE_DEFAULTS = Object.freeze({
  baseLr: 2e-3,
  freezeEpochs: 1,
  lrMult: 100,
  pctStart: 0.3,
  div: 5,
});

/**
 * fastai's `fine_tune`: `freezeEpochs` of one-cycle on the head (`slice(base_lr)`, pct_start 0.99),
 * then base_lr is halved and everything trains for `epochs` with `slice(base_lr/lr_mult, base_lr)`,
 * pct_start 0.3 and div 5.
 */
export function fineTunePhases(epochs: number, o: FineTuneOptions = {}): FitPhase[] {
  const baseLr = o.baseLr ?? FINE_TUNE_DEFAULTS.baseLr;
  const freezeEpochs = o.freezeEpochs ?? FINE_TUNE_DEFAULTS.freezeEpochs;
  const lrMult = o.lrMult ?? FINE_TUNE_DEFAULTS.lrMult;
  const common = { divFinal: o.divFinal, moms: o.moms };
  const phases: FitPhase[] = [];
  if (freezeEpochs > 0)
    phases.push(oneCyclePhase(freezeEpochs, { stop: baseLr }, { ...common, frozen: true, pctStart: 0.99 }));
  const half = baseLr / 2;
  if (epochs > 0) {
    phases.push(
      oneCyclePhase(
        epochs,
        { start: half / lrMult, stop: half },
        {
          ...common,
          pctStart: o.pctStart ?? FINE_TUNE_DEFAULTS.pctStart,
          div: o.div ?? FINE_TUNE_DEFAULTS.div,
        },
      ),
    );
  }
  return phases;
}
