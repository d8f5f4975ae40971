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
 * the step and epoch events: a learning rate's decay or one-cycle policy. A value per parameter
 * group (discriminative learning rates) shows as its last group's (the head's). Order −10.
 *
 *   new ParamSchedule('lr', (at) => 2e-4 * (1 - at.epoch / at.epochs), (lr) => (opt.learningRate = lr))
 */
export class ParamSchedule<V extends number | readonly number[] = number> implements Callback {
  readonly order = -10;

  constructor(
    readonly name: string,
    private readonly value: (at: SchedulePoint) => V,
    private readonly apply: (value: V) => void,
  ) {}

  beforeStep(loop: LoopContext): void {
    const { step, epoch, stepInEpoch, stepsPerEpoch, epochs } = loop;
    const v = this.value({ step, epoch, stepInEpoch, stepsPerEpoch, epochs });
    this.apply(v);
    loop.setMetric(this.name, typeof v === 'number' ? v : (v as readonly number[])[v.length - 1]!);
  }
}
