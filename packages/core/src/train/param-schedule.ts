import type { Callback, LoopContext } from './callback.js';

/** Where a schedule is evaluated: before step `step + 1`. */
export interface SchedulePoint {
  step: number;
  epoch: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  epochs: number;
}

/**
 * Sets a hyper-parameter before every step (`apply(value(at))`), and shows it as metric `name` in
 * the step and epoch events: a learning rate's decay or one-cycle policy. Order −10.
 *
 *   new ParamSchedule('lr', (at) => 2e-4 * (1 - at.epoch / at.epochs), (lr) => (opt.learningRate = lr))
 */
export class ParamSchedule implements Callback {
  readonly order = -10;

  constructor(
    readonly name: string,
    private readonly value: (at: SchedulePoint) => number,
    private readonly apply: (value: number) => void,
  ) {}

  beforeStep(loop: LoopContext): void {
    const { step, epoch, stepInEpoch, stepsPerEpoch, epochs } = loop;
    const v = this.value({ step, epoch, stepInEpoch, stepsPerEpoch, epochs });
    this.apply(v);
    loop.setMetric(this.name, v);
  }
}
