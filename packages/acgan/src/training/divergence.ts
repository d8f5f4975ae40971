import {
  type Callback,
  type CheckpointStore,
  type Divergence,
  DivergenceGuard,
  type DivergenceGuardState,
  divergedError,
  type LoopContext,
  learningRateHint,
  type StepEvent,
} from '@skingan/core';

export type { Divergence };

export interface DivergenceMonitorState {
  frozenSteps: number;
  saturatedSteps: number;
  previous: Record<string, number> | null;
  /** The shared guard's recent losses (absent in checkpoints of older versions). */
  guard?: DivergenceGuardState;
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
 * Watches each step's losses for the ways GAN training fails for good: a NaN/inf loss or one
 * exploding past its running median (at once: core's `DivergenceGuard`, shared by every trainer),
 * all losses frozen (dead units, saturated tanh) or D rejecting every fake with certainty (G gets
 * no signal), each for `patience` steps in a row. Its state goes into checkpoints so a resumed run
 * counts on from where it stopped.
 */
export class DivergenceMonitor {
  private state: Omit<DivergenceMonitorState, 'guard'> = {
    frozenSteps: 0,
    saturatedSteps: 0,
    previous: null,
  };
  /** The NaN/inf and exploding-loss check (the trainer's `DivergenceCallback` runs it first). */
  readonly guard = new DivergenceGuard();

  constructor(private readonly options: DivergenceOptions) {}

  /** The divergence these losses show, if any; `gAdv` is G's real/fake loss. */
  check(step: number, losses: Record<string, number>, gAdv: number): Divergence | undefined {
    return this.guard.check(step, losses) ?? this.checkStall(step, losses, gAdv);
  }

  /** The stalls alone (frozen losses, D winning), for losses the guard has passed. */
  checkStall(step: number, losses: Record<string, number>, gAdv: number): Divergence | undefined {
    const tol = this.options.frozenTolerance ?? 1e-7;
    const prev = this.state.previous;
    const frozen =
      prev !== null && Object.entries(losses).every(([k, v]) => Math.abs(v - (prev[k] ?? Number.NaN)) <= tol);
    this.state.frozenSteps = frozen ? this.state.frozenSteps + 1 : 0;
    this.state.saturatedSteps = gAdv > this.options.maxGeneratorAdvLoss ? this.state.saturatedSteps + 1 : 0;
    this.state.previous = { ...losses };
    const p = this.options.patience;
    const first = Object.entries(losses)[0] ?? ['loss', Number.NaN];
    if (this.state.frozenSteps >= p) {
      return {
        kind: 'frozen',
        step,
        loss: first[0],
        value: first[1],
        message: `no loss has changed for ${p} steps (up to step ${step})`,
      };
    }
    if (this.state.saturatedSteps >= p) {
      return {
        kind: 'discriminator-wins',
        step,
        loss: 'gAdv',
        value: gAdv,
        message: `the discriminator has rejected every generated image with certainty for ${p} steps (G's real/fake loss ${gAdv.toFixed(1)} at step ${step})`,
      };
    }
    return undefined;
  }

  getState(): DivergenceMonitorState {
    return {
      ...this.state,
      previous: this.state.previous ? { ...this.state.previous } : null,
      guard: this.guard.getState(),
    };
  }

  setState(state: DivergenceMonitorState): void {
    const { guard, ...own } = state;
    this.state = { ...own, previous: own.previous ? { ...own.previous } : null };
    this.guard.setState(guard);
  }
}

/** The hint of an ACGAN divergence: what to change for its kind. */
export function divergenceHint(d: Divergence): string {
  if (d.kind === 'discriminator-wins') {
    return 'the discriminator overpowers the generator: try --diffaugment, more label smoothing (training.realLabel) or a lower learningRateD';
  }
  if (d.kind === 'frozen') {
    return 'lower the learning rates (training.learningRateG/learningRateD) or check the input images';
  }
  return `${learningRateHint('training.learningRateG/learningRateD (--config)')}; or check the input images for NaN`;
}

/**
 * Stops training on a stall (`checkStall`), saving the state reached first: unlike a NaN, a stall
 * leaves good weights. Runs after the loggers (order 5), so the step is in metrics.jsonl and a
 * resume from that checkpoint repeats nothing.
 */
export class StallCallback implements Callback {
  readonly order = 5;

  constructor(
    private readonly monitor: DivergenceMonitor,
    private readonly store: CheckpointStore | undefined,
  ) {}

  async afterStep(loop: LoopContext, e: StepEvent): Promise<void> {
    const d = this.monitor.checkStall(loop.step, e.losses, e.losses.gAdv ?? 0);
    if (!d) return;
    await loop.saveCheckpoint();
    throw await divergedError({ what: 'ACGAN training', hint: divergenceHint, store: this.store }, d);
  }
}
