import type { CheckpointEvent, EpochEvent, EvalEvent, StepEvent } from '../events.js';
import type { CheckpointRef, CheckpointStore } from '../run/checkpoint-store.js';
import {
  type Callback,
  CancelFitError,
  type EpochSource,
  type FitResult,
  type LoopContext,
  type StepOutput,
  type TrainModel,
} from './callback.js';
import { CheckpointCallback } from './checkpoints.js';

export interface FitOptions {
  /** Train until this many epochs are done in total. */
  epochs: number;
  /** This fit's callbacks, after the loop's own (`TrainingLoop` options), sorted by `order`. */
  callbacks?: (Callback | undefined | false)[];
  /** Stops at the next step boundary, with a checkpoint. */
  signal?: AbortSignal;
  /** Stops (with a checkpoint) once this many steps are done in total. */
  maxSteps?: number;
}

/** The loop's own part of a checkpoint's state. */
interface LoopState {
  stepInEpoch: number;
  /** Sums of this epoch's losses and step metrics so far, for the epoch means. */
  epochSums: Record<string, number>;
  /** Steps they sum (absent in CycleGAN checkpoints of older versions: `stepInEpoch`). */
  epochSteps?: number;
  last?: StepOutput | null;
}

type Hook = 'beforeFit' | 'beforeEpoch' | 'beforeStep';

/**
 * The one training loop of every model, after fastai's `Learner`: `fit` runs epochs of batches,
 * calling the model's `step` on each, and fires events that callbacks hook (checkpoints,
 * metrics.jsonl, divergence rollback, schedules, samples, evaluations, early stopping).
 *
 *   const loop = new TrainingLoop(model);
 *   await loop.resumeFrom(run.checkpoints);
 *   const result = await loop.fit(source, {
 *     epochs: 10,
 *     callbacks: [metricsLog(run), new CheckpointCallback(run.checkpoints, { every: 500 })],
 *   });
 */
export class TrainingLoop<B> implements LoopContext {
  step = 0;
  epoch = 0;
  stepInEpoch = 0;
  epochs = 0;
  stepsPerEpoch = 0;
  last: StepOutput | undefined;
  /** The newest checkpoint written or restored. */
  checkpoint: CheckpointRef | undefined;
  private epochSums: Record<string, number> = {};
  private epochSteps = 0;
  private callbacks: Callback[];
  private extraMetrics: Record<string, number> = {};
  private stopAsked: { reason?: string; status: FitResult['status'] } | undefined;
  private limits: Pick<FitOptions, 'signal' | 'maxSteps'> = {};
  /** The state of the checkpoint restored, for the callbacks of the next fit. */
  private restored: Record<string, unknown> | undefined;
  private fitting = false;

  /** `callbacks`: the model's own, fired by every fit and by `trainStep` (e.g. NaN rollback). */
  constructor(
    readonly model: TrainModel<B>,
    private readonly own: { callbacks?: Callback[] } = {},
  ) {
    this.callbacks = sortCallbacks(own.callbacks ?? []);
  }

  get stopRequested(): boolean {
    const { signal, maxSteps } = this.limits;
    return (
      this.stopAsked !== undefined ||
      Boolean(signal?.aborted) ||
      (maxSteps !== undefined && this.step >= maxSteps)
    );
  }

  stop(reason?: string, status: FitResult['status'] = 'stopped'): void {
    this.stopAsked ??= { ...(reason !== undefined ? { reason } : {}), status };
  }

  setMetric(name: string, value: number): void {
    this.extraMetrics[name] = value;
  }

  async report(e: CheckpointEvent | EvalEvent): Promise<void> {
    if (e.kind === 'checkpoint') {
      this.checkpoint = { step: e.step, epoch: e.epoch, dir: e.path };
      for (const c of this.callbacks) await c.onCheckpoint?.(e);
    } else {
      for (const c of this.callbacks) await c.onEval?.(e);
    }
  }

  async saveCheckpoint(): Promise<CheckpointRef | undefined> {
    const checkpoints = this.callbacks.find((c) => c instanceof CheckpointCallback);
    return checkpoints?.saveNow(this);
  }

  /**
   * Starts the next fit at `epoch` if that is later than where the loop stands (a phase of several
   * that ended early hands over to the next at that one's first epoch).
   */
  advanceTo(epoch: number): void {
    if (epoch <= this.epoch) return;
    this.epoch = epoch;
    this.stepInEpoch = 0;
    this.epochSums = {};
    this.epochSteps = 0;
  }

  /** Continues from the store's newest checkpoint, if any: weights, optimizers, position, states. */
  async resumeFrom(store: CheckpointStore): Promise<CheckpointRef | undefined> {
    const ref = await store.latest();
    if (!ref) return undefined;
    const { models, optimizers, optionalModels } = this.model;
    const r = await store.restore<Record<string, unknown>>(ref, {
      models,
      ...(optimizers ? { optimizers } : {}),
      ...(optionalModels ? { optional: optionalModels } : {}),
    });
    // Networks the checkpoint holds that this model no longer trains (an EMA turned off).
    for (const [name, m] of Object.entries(r.models)) if (models[name] !== m) m.dispose();
    this.applyState(r.state ?? {}, r);
    this.restored = r.state ?? {};
    this.checkpoint = ref;
    return ref;
  }

  captureState(): Record<string, unknown> {
    const loop: LoopState = {
      stepInEpoch: this.stepInEpoch,
      epochSums: { ...this.epochSums },
      epochSteps: this.epochSteps,
      last: this.last ?? null,
    };
    const callbacks = Object.fromEntries(
      this.callbacks.filter((c) => c.stateKey && c.getState).map((c) => [c.stateKey!, c.getState!()]),
    );
    return { ...loop, ...this.model.getState?.(), ...callbacks };
  }

  applyState(state: Record<string, unknown>, at?: { step: number; epoch: number }): void {
    if (at) {
      this.step = at.step;
      this.epoch = at.epoch;
    }
    const s = state as Partial<LoopState>;
    this.stepInEpoch = s.stepInEpoch ?? 0;
    this.epochSums = { ...s.epochSums };
    this.epochSteps = s.epochSteps ?? this.stepInEpoch;
    this.last = s.last ?? undefined;
    this.model.setState?.(state);
  }

  /** Trains until `epochs` epochs are done, or a stop; see `FitOptions`. */
  async fit(source: EpochSource<B>, options: FitOptions): Promise<FitResult> {
    const extra = (options.callbacks ?? []).filter((c): c is Callback => Boolean(c));
    this.callbacks = sortCallbacks([...(this.own.callbacks ?? []), ...extra]);
    this.epochs = options.epochs;
    this.limits = options;
    this.stopAsked = undefined;
    this.fitting = true;
    const startStep = this.step;
    if (this.restored) {
      for (const c of this.callbacks) if (c.stateKey) c.setState?.(this.restored[c.stateKey]);
      this.restored = undefined;
    }
    try {
      await this.fire('beforeFit');
      // After beforeFit: a source may be a callback that prepares itself there (a feature cache).
      this.stepsPerEpoch = source.stepsPerEpoch;
      try {
        await this.runEpochs(source);
      } catch (e) {
        if (!(e instanceof CancelFitError)) throw e;
        this.stop(e.message);
      }
      // (A callback may have set it: not `undefined` as assigned above.)
      const asked = this.stopAsked as TrainingLoop<B>['stopAsked'];
      const status = this.epoch >= this.epochs ? 'completed' : (asked?.status ?? 'stopped');
      const reason = asked?.reason;
      const result = (): FitResult => ({
        status,
        step: this.step,
        epoch: this.epoch,
        startStep,
        last: this.last,
        checkpoint: this.checkpoint,
        ...(reason !== undefined ? { reason } : {}),
      });
      for (const c of this.callbacks) await c.afterFit?.(this, result());
      return result();
    } catch (e) {
      for (const c of this.callbacks) await c.onError?.(this, e);
      throw e;
    } finally {
      this.fitting = false;
      this.limits = {};
      this.callbacks = sortCallbacks(this.own.callbacks ?? []);
    }
  }

  private async runEpochs(source: EpochSource<B>): Promise<void> {
    while (this.epoch < this.epochs && !this.stopRequested) {
      await this.fire('beforeEpoch');
      const started = performance.now();
      for await (const batch of source.epoch(this.epoch, { skipBatches: this.stepInEpoch })) {
        // Checked once the next batch is there: a stop after an epoch's last step ends the epoch first.
        if (this.stopRequested) {
          this.model.disposeBatch?.(batch);
          return;
        }
        await this.runStep(batch);
      }
      await this.endEpoch(started);
    }
  }

  /**
   * One step as `fit` runs it (the loop's own callbacks' beforeStep/afterStep, counters, epoch
   * sums) without the fit's callbacks: for custom loops and benchmarks. The caller keeps the batch.
   */
  async trainStep(batch: B): Promise<StepOutput> {
    if (this.fitting) throw new Error('trainStep is for steps outside fit');
    try {
      return await this.runStep(batch, false);
    } catch (e) {
      for (const c of this.callbacks) await c.onError?.(this, e);
      throw e;
    }
  }

  private async runStep(batch: B, dispose = true): Promise<StepOutput> {
    await this.fire('beforeStep');
    const t0 = performance.now();
    let out: StepOutput;
    try {
      out = await this.model.step(batch);
    } finally {
      if (dispose) this.model.disposeBatch?.(batch);
    }
    this.step++;
    this.stepInEpoch++;
    this.last = out;
    for (const [k, v] of Object.entries({ ...out.losses, ...out.metrics })) {
      this.epochSums[k] = (this.epochSums[k] ?? 0) + v;
    }
    this.epochSteps++;
    const e: StepEvent = {
      kind: 'step',
      step: this.step,
      epoch: this.epoch,
      stepInEpoch: this.stepInEpoch - 1,
      stepsPerEpoch: this.stepsPerEpoch,
      losses: out.losses,
      metrics: { ...out.metrics, ...this.extraMetrics },
      elapsedMs: performance.now() - t0,
    };
    for (const c of this.callbacks) await c.afterStep?.(this, e);
    return out;
  }

  private async endEpoch(started: number): Promise<void> {
    const n = Math.max(1, this.epochSteps);
    const lossKeys = new Set(Object.keys(this.last?.losses ?? {}));
    const losses: Record<string, number> = {};
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(this.epochSums)) (lossKeys.has(k) ? losses : metrics)[k] = v / n;
    const validation = await this.model.validate?.();
    const e: EpochEvent = {
      kind: 'epoch',
      epoch: this.epoch,
      epochs: this.epochs,
      step: this.step,
      losses: { ...losses, ...validation?.losses },
      // Callbacks' scalars (a scheduled learning rate) as they stand, not averaged.
      metrics: { ...metrics, ...validation?.metrics, ...this.extraMetrics },
      elapsedMs: performance.now() - started,
    };
    for (const c of this.callbacks) await c.afterEpoch?.(this, e);
    this.advanceTo(this.epoch + 1);
  }

  private async fire(hook: Hook): Promise<void> {
    for (const c of this.callbacks) await c[hook]?.(this);
  }
}

function sortCallbacks(list: Callback[]): Callback[] {
  // Array.prototype.sort is stable: equal orders keep the order given.
  return [...list].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
}
