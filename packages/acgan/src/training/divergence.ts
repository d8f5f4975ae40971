/** Why training stopped. */
export interface Divergence {
  kind: 'non-finite' | 'frozen' | 'discriminator-wins';
  /** The step whose losses showed it. */
  step: number;
  message: string;
}

export interface DivergenceMonitorState {
  frozenSteps: number;
  saturatedSteps: number;
  previous: Record<string, number> | null;
}

export interface DivergenceOptions {
  /** Consecutive stuck steps before giving up. */
  patience: number;
  /** G's real/fake loss above this = D(G(z)) below e^-x: D rejects every fake with certainty. */
  maxGeneratorAdvLoss: number;
  /** Losses that move less than this from one step to the next count as frozen. */
  frozenTolerance?: number;
}

/**
 * Watches each step's losses for the ways GAN training fails for good: a NaN/inf loss (at once),
 * all losses frozen (dead units, saturated tanh) or D rejecting every fake with certainty (G gets
 * no signal), each for `patience` steps in a row. Its state goes into checkpoints so a resumed run
 * counts on from where it stopped.
 */
export class DivergenceMonitor {
  private state: DivergenceMonitorState = { frozenSteps: 0, saturatedSteps: 0, previous: null };

  constructor(private readonly options: DivergenceOptions) {}

  /** The divergence these losses show, if any; `gAdv` is G's real/fake loss. */
  check(step: number, losses: Record<string, number>, gAdv: number): Divergence | undefined {
    const bad = Object.entries(losses).filter(([, v]) => !Number.isFinite(v));
    if (bad.length) {
      return {
        kind: 'non-finite',
        step,
        message: `loss ${bad.map(([k, v]) => `${k} = ${v}`).join(', ')} at step ${step}`,
      };
    }
    const tol = this.options.frozenTolerance ?? 1e-7;
    const prev = this.state.previous;
    const frozen =
      prev !== null && Object.entries(losses).every(([k, v]) => Math.abs(v - (prev[k] ?? Number.NaN)) <= tol);
    this.state.frozenSteps = frozen ? this.state.frozenSteps + 1 : 0;
    this.state.saturatedSteps = gAdv > this.options.maxGeneratorAdvLoss ? this.state.saturatedSteps + 1 : 0;
    this.state.previous = { ...losses };
    const p = this.options.patience;
    if (this.state.frozenSteps >= p) {
      return { kind: 'frozen', step, message: `no loss has changed for ${p} steps (up to step ${step})` };
    }
    if (this.state.saturatedSteps >= p) {
      return {
        kind: 'discriminator-wins',
        step,
        message: `the discriminator has rejected every generated image with certainty for ${p} steps (G's real/fake loss ${gAdv.toFixed(1)} at step ${step})`,
      };
    }
    return undefined;
  }

  getState(): DivergenceMonitorState {
    return { ...this.state, previous: this.state.previous ? { ...this.state.previous } : null };
  }

  setState(state: DivergenceMonitorState): void {
    this.state = { ...state, previous: state.previous ? { ...state.previous } : null };
  }
}
