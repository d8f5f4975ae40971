import { join } from 'node:path';
import {
  type BatchSource,
  type CheckpointRef,
  type ConditionalGenerator,
  combineObservers,
  countParams,
  DivergedError,
  type EvalPoint,
  type Evaluation,
  lastGoodCheckpoint,
  learningRateHint,
  type ParamCount,
  Rng,
  type RngState,
  type RunFolder,
  type SkinganError,
  saveModel,
  type TrainingObserver,
  TrainingSnapshot,
  writeJsonAtomic,
} from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { AcganConfig } from '../config.js';
import { registerAcganLayers } from '../layers/register.js';
import { attachDropoutRng } from '../layers/seeded-dropout.js';
import { buildDiscriminator } from '../models/discriminator.js';
import { buildGenerator } from '../models/generator.js';
import {
  EMA_NETWORK,
  FINAL_GENERATOR_DIR,
  FINAL_GENERATOR_EMA_DIR,
  FINAL_INFO_FILE,
} from '../sampling/acgan-generator.js';
import { generateImages, sampleGridLabels } from '../sampling/generate.js';
import { type Divergence, DivergenceMonitor, type DivergenceMonitorState } from './divergence.js';
import { WeightAverage } from './ema.js';

import { acganStep, type StepResult } from './step.js';

/** The per-epoch sample sheet: one row per class, the same noise every epoch. */
export interface SampleGrid {
  epoch: number;
  step: number;
  /** [rows × cols, size, size, 3] in [-1, 1], row-major (row r = class r); disposed after the callback returns. */
  images: tf.Tensor4D;
  labels: number[];
  rows: number;
  cols: number;
  classes: readonly string[];
}

export interface AcganTrainerOptions {
  /** A resolved config (`resolveAcganConfig`). */
  config: AcganConfig;
  /**
   * Where checkpoints and metrics go. When it holds a checkpoint, training continues from the
   * newest one: same step, weights, Adam moments and random streams as an uninterrupted run.
   */
  run?: RunFolder<AcganConfig>;
  observer?: TrainingObserver;
  /** Receives the sample grid after each epoch (models do not write images: the caller does). */
  onSamples?: (grid: SampleGrid) => void | Promise<void>;
  /**
   * Measures the generator after every `config.eval.every` epochs (e.g. with @skingan/metrics'
   * `QualityProbe`); what it returns goes to the observer as an `eval` event (metrics.jsonl, warnings).
   */
  evaluate?: (generator: ConditionalGenerator, at: EvalPoint) => Promise<Evaluation | undefined>;
  /** Stops at the next step boundary, with a checkpoint. */
  signal?: AbortSignal;
  /** Stops (with a checkpoint) once this many steps in total are done. */
  maxSteps?: number;
}

export interface TrainResult {
  /** `stopped`: by the signal or `maxSteps`, resumable. */
  status: 'completed' | 'stopped';
  step: number;
  epoch: number;
  /** The last step's losses and accuracies. */
  last: StepResult | undefined;
}

/** JSON state saved with each checkpoint, beside weights and Adam moments. */
interface TrainerState {
  stepInEpoch: number;
  rng: { noise: RngState; augment: RngState; dropout: RngState };
  monitor: DivergenceMonitorState;
  epochSums: Record<string, number>;
  epochSteps: number;
  last: StepResult | null;
  /** EMA updates so far (absent in checkpoints from before `emaDecay`). */
  emaUpdates?: number;
}

/**
 * Trains an ACGAN on a `BatchSource`: Adam for both networks, a step as `acganStep`, per-step
 * events (losses, accuracies) to the observer and metrics.jsonl, checkpoints every
 * `training.checkpointEvery` steps and at the end, a fixed-noise sample grid per epoch, and
 * divergence detection (core's `DivergenceGuard` plus GAN-specific stalls, see `DivergenceMonitor`:
 * NaN/inf or an exploding loss → roll back / stop at the last good checkpoint and throw `DIVERGED`).
 *
 *   const trainer = await AcganTrainer.create({ config, run, onSamples });
 *   await trainer.train(batches);
 *   trainer.dispose();
 */
export class AcganTrainer {
  readonly generator: tf.LayersModel;
  readonly discriminator: tf.LayersModel;
  readonly optimizerG: tf.Optimizer;
  readonly optimizerD: tf.Optimizer;
  /** The moving average of G's weights, when `training.emaDecay` > 0. */
  readonly ema: WeightAverage | undefined;
  /** Steps done in total, and the epoch in progress (0-based). */
  step = 0;
  epoch = 0;
  private stepInEpoch = 0;
  private readonly streams: { noise: Rng; augment: Rng; dropout: Rng };
  private readonly monitor: DivergenceMonitor;
  private epochSums: Record<string, number> = {};
  private epochSteps = 0;
  private last: StepResult | undefined;
  private fixedNoise: tf.Tensor2D | undefined;
  private lastCheckpointStep = -1;
  /** The observer of the `train` call in progress (divergence saves report through it). */
  private observer: TrainingObserver = {};

  private constructor(
    readonly config: AcganConfig,
    private readonly options: AcganTrainerOptions,
  ) {
    registerAcganLayers();
    const root = new Rng(config.seed);
    const init = root.fork('init');
    this.generator = buildGenerator(config, init);
    this.discriminator = buildDiscriminator(config, init);
    const t = config.training;
    // Its own stream: the shadow's initial weights are overwritten anyway, and D's init stays put.
    this.ema =
      t.emaDecay > 0
        ? new WeightAverage(this.generator, buildGenerator(config, root.fork('ema')), t.emaDecay)
        : undefined;
    // PyTorch's Adam epsilon (tfjs defaults to 1e-7).
    this.optimizerG = tf.train.adam(t.learningRateG, t.beta1, t.beta2, 1e-8);
    this.optimizerD = tf.train.adam(t.learningRateD, t.beta1, t.beta2, 1e-8);
    this.streams = {
      noise: root.fork('noise'),
      augment: root.fork('augment'),
      dropout: root.fork('dropout'),
    };
    attachDropoutRng(this.discriminator, this.streams.dropout);
    this.monitor = new DivergenceMonitor({
      patience: t.divergencePatience,
      maxGeneratorAdvLoss: t.maxGeneratorAdvLoss,
    });
  }

  /** Builds both networks (seeded) and, if `run` has a checkpoint, restores the newest. */
  static async create(options: AcganTrainerOptions): Promise<AcganTrainer> {
    const trainer = new AcganTrainer(options.config, options);
    const latest = await options.run?.checkpoints.latest();
    if (latest) await trainer.restore(latest);
    return trainer;
  }

  get params(): { generator: ParamCount; discriminator: ParamCount } {
    return { generator: countParams(this.generator), discriminator: countParams(this.discriminator) };
  }

  /** Trains until `config.epochs` epochs are done (or the signal / `maxSteps` stops it). */
  async train(source: BatchSource): Promise<TrainResult> {
    const { config, options } = this;
    const run = options.run;
    const observer = combineObservers(run?.metricsObserver(), options.observer);
    this.observer = observer;
    if (run) await run.update({ params: this.params, stepsPerEpoch: source.stepsPerEpoch });
    let pendingCheckpoint = false;
    const stopRequested = () =>
      Boolean(options.signal?.aborted) || (options.maxSteps !== undefined && this.step >= options.maxSteps);

    while (this.epoch < config.epochs) {
      const epochStart = performance.now();
      for await (const batch of source.epoch(this.epoch, { skipBatches: this.stepInEpoch })) {
        if (pendingCheckpoint || stopRequested()) {
          pendingCheckpoint = false;
          await this.checkpoint(observer);
        }
        if (stopRequested()) {
          tf.dispose([batch.images, batch.labels]);
          return this.result('stopped');
        }
        const t0 = performance.now();
        const result = await this.trainStep(batch.images, batch.labels).finally(() =>
          tf.dispose([batch.images, batch.labels]),
        );
        await observer.onStep?.({
          kind: 'step',
          step: this.step,
          epoch: this.epoch,
          stepInEpoch: this.stepInEpoch - 1,
          stepsPerEpoch: source.stepsPerEpoch,
          losses: result.losses,
          metrics: result.metrics,
          elapsedMs: performance.now() - t0,
        });
        await this.checkDivergence(result);
        // Saved when the next batch arrives or after the epoch's end, so that a checkpoint on an
        // epoch's last step already holds the finished epoch.
        if (this.step % config.training.checkpointEvery === 0) pendingCheckpoint = true;
      }
      await this.finishEpoch(observer, performance.now() - epochStart);
      if (pendingCheckpoint) {
        pendingCheckpoint = false;
        await this.checkpoint(observer);
      }
      if (this.epoch < config.epochs && stopRequested()) {
        await this.checkpoint(observer);
        return this.result('stopped');
      }
    }
    await this.checkpoint(observer);
    if (run) {
      await saveModel(this.generator, join(run.dir, FINAL_GENERATOR_DIR));
      if (this.ema) await saveModel(this.ema.shadow, join(run.dir, FINAL_GENERATOR_EMA_DIR));
      await writeJsonAtomic(join(run.dir, FINAL_INFO_FILE), { step: this.step, epoch: this.epoch });
    }
    return this.result('completed');
  }

  /** The generator that draws samples: the EMA of G's weights when on, else G itself. */
  get samplingGenerator(): tf.LayersModel {
    return this.ema?.shadow ?? this.generator;
  }

  /** Images from the sampling generator (inference mode), one per label. */
  generate(labels: number[], seed: number): tf.Tensor4D {
    return generateImages(this.samplingGenerator, this.config, labels, seed);
  }

  /** The current generator (inference mode) behind core's `ConditionalGenerator` interface. */
  asGenerator(): ConditionalGenerator {
    return {
      labelSpace: this.config.labelSpace,
      imageSize: this.config.imageSize,
      generate: (labels, seed = 0) => this.generate(labels, seed),
    };
  }

  /** The fixed-noise sample grid as `onSamples` receives it (the caller disposes `images`). */
  sampleGrid(): SampleGrid {
    const { classes } = this.config.labelSpace;
    const cols = this.config.training.samplesPerClass;
    const labels = sampleGridLabels(classes.length, cols);
    this.fixedNoise ??= new Rng(`${this.config.seed}:samples`).normalTensor<tf.Rank.R2>([
      labels.length,
      this.config.generator.latentDim,
    ]);
    const images = generateImages(this.samplingGenerator, this.config, labels, this.fixedNoise);
    return { epoch: this.epoch, step: this.step, images, labels, rows: classes.length, cols, classes };
  }

  dispose(): void {
    attachDropoutRng(this.discriminator, undefined);
    this.generator.dispose();
    this.ema?.shadow.dispose();
    this.discriminator.dispose();
    this.optimizerG.dispose();
    this.optimizerD.dispose();
    this.fixedNoise?.dispose();
    this.fixedNoise = undefined;
  }

  /**
   * One optimization step on a batch as `train` runs it (counters, epoch means, NaN rollback),
   * without events or checkpoints: for custom loops and benchmarks. The caller disposes the batch.
   */
  async trainStep(images: tf.Tensor4D, labels: tf.Tensor1D): Promise<StepResult> {
    const result = await this.guardedStep(images, labels);
    this.step++;
    this.stepInEpoch++;
    this.accumulate(result);
    return result;
  }

  private async guardedStep(images: tf.Tensor4D, labels: tf.Tensor1D): Promise<StepResult> {
    const nets = {
      generator: this.generator,
      discriminator: this.discriminator,
      optimizerG: this.optimizerG,
      optimizerD: this.optimizerD,
    };
    // What to roll back to if this step's losses are NaN/inf (the networks are poisoned by then).
    const before = await TrainingSnapshot.take(
      [this.generator, this.discriminator],
      [this.optimizerG, this.optimizerD],
    );
    const state = this.captureState();
    let result: StepResult;
    try {
      result = acganStep(nets, this.config, this.streams, images, labels);
    } catch (e) {
      before.dispose();
      throw e;
    }
    const bad = Object.values(result.losses).some((v) => !Number.isFinite(v));
    if (!bad) {
      before.dispose();
      this.ema?.update();
      return result;
    }
    await before.restore();
    this.applyState(state);
    const divergence = this.monitor.check(this.step + 1, result.losses, result.losses.gAdv)!;
    throw await this.diverged(divergence);
  }

  private async checkDivergence(result: StepResult): Promise<void> {
    const divergence = this.monitor.check(this.step, result.losses, result.losses.gAdv);
    if (divergence) throw await this.diverged(divergence);
  }

  /**
   * Builds the error that stops training. After a stall (losses frozen, D winning) the state reached
   * is saved; after a NaN/inf or exploding loss the weights that produced it are not, and a
   * checkpoint that holds them is set aside (`lastGoodCheckpoint`): a resume starts before them.
   */
  private async diverged(d: Divergence): Promise<SkinganError> {
    const run = this.options.run;
    const stall = d.kind === 'frozen' || d.kind === 'discriminator-wins';
    if (run && stall) await this.checkpoint(this.observer);
    const good = await lastGoodCheckpoint(run?.checkpoints, d);
    return new DivergedError('ACGAN training', d, {
      ...good,
      hint:
        d.kind === 'discriminator-wins'
          ? 'the discriminator overpowers the generator: try --diffaugment, more label smoothing (training.realLabel) or a lower learningRateD'
          : stall
            ? 'lower the learning rates (training.learningRateG/learningRateD) or check the input images'
            : `${learningRateHint('training.learningRateG/learningRateD (--config)')}; or check the input images for NaN`,
    });
  }

  private accumulate(result: StepResult): void {
    this.last = result;
    for (const [k, v] of Object.entries({ ...result.losses, ...result.metrics })) {
      this.epochSums[k] = (this.epochSums[k] ?? 0) + v;
    }
    this.epochSteps++;
  }

  private async finishEpoch(observer: TrainingObserver, elapsedMs: number): Promise<void> {
    const means = Object.fromEntries(
      Object.entries(this.epochSums).map(([k, v]) => [k, v / Math.max(1, this.epochSteps)]),
    );
    const lossKeys = Object.keys(this.last?.losses ?? {});
    const losses = Object.fromEntries(Object.entries(means).filter(([k]) => lossKeys.includes(k)));
    const metrics = Object.fromEntries(Object.entries(means).filter(([k]) => !lossKeys.includes(k)));
    await observer.onEpoch?.({
      kind: 'epoch',
      epoch: this.epoch,
      epochs: this.config.epochs,
      step: this.step,
      losses,
      metrics,
      elapsedMs,
    });
    if (this.options.onSamples) {
      const grid = this.sampleGrid();
      try {
        await this.options.onSamples(grid);
      } finally {
        grid.images.dispose();
      }
    }
    const every = this.config.eval.every;
    if (this.options.evaluate && every > 0 && (this.epoch + 1) % every === 0) {
      const t0 = performance.now();
      const evaluation = await this.options.evaluate(this.asGenerator(), {
        epoch: this.epoch,
        step: this.step,
        final: this.epoch + 1 === this.config.epochs,
      });
      if (evaluation) {
        await observer.onEval?.({
          kind: 'eval',
          epoch: this.epoch,
          step: this.step,
          ...evaluation,
          elapsedMs: performance.now() - t0,
        });
      }
    }
    this.epoch++;
    this.stepInEpoch = 0;
    this.epochSums = {};
    this.epochSteps = 0;
  }

  private async checkpoint(observer: TrainingObserver): Promise<CheckpointRef | undefined> {
    const run = this.options.run;
    if (!run || this.lastCheckpointStep === this.step) return undefined;
    const ref = await run.checkpoints.save<TrainerState>({
      step: this.step,
      epoch: this.epoch,
      models: {
        generator: this.generator,
        discriminator: this.discriminator,
        ...(this.ema ? { [EMA_NETWORK]: this.ema.shadow } : {}),
      },
      optimizers: { generator: this.optimizerG, discriminator: this.optimizerD },
      state: this.captureState(),
    });
    this.lastCheckpointStep = this.step;
    await observer.onCheckpoint?.({ kind: 'checkpoint', step: ref.step, epoch: ref.epoch, path: ref.dir });
    return ref;
  }

  private async restore(ref: CheckpointRef): Promise<void> {
    const r = await this.options.run!.checkpoints.restore<TrainerState>(ref, {
      models: { generator: this.generator, discriminator: this.discriminator },
      optimizers: { generator: this.optimizerG, discriminator: this.optimizerD },
    });
    this.step = r.step;
    this.epoch = r.epoch;
    this.applyState(r.state);
    // The EMA generator is loaded apart, so that a checkpoint saved without it still loads.
    const savedEma = r.models[EMA_NETWORK];
    if (this.ema && savedEma) this.ema.shadow.setWeights(savedEma.getWeights());
    else this.ema?.reset();
    savedEma?.dispose();
    this.lastCheckpointStep = r.step;
  }

  private captureState(): TrainerState {
    return {
      stepInEpoch: this.stepInEpoch,
      rng: {
        noise: this.streams.noise.state,
        augment: this.streams.augment.state,
        dropout: this.streams.dropout.state,
      },
      monitor: this.monitor.getState(),
      epochSums: { ...this.epochSums },
      epochSteps: this.epochSteps,
      last: this.last ?? null,
      ...(this.ema ? { emaUpdates: this.ema.updates } : {}),
    };
  }

  private applyState(s: TrainerState): void {
    this.stepInEpoch = s.stepInEpoch;
    this.streams.noise.state = s.rng.noise;
    this.streams.augment.state = s.rng.augment;
    this.streams.dropout.state = s.rng.dropout;
    this.monitor.setState(s.monitor);
    this.epochSums = { ...s.epochSums };
    this.epochSteps = s.epochSteps;
    this.last = s.last ?? undefined;
    if (this.ema) this.ema.updates = s.emaUpdates ?? 0;
  }

  private result(status: TrainResult['status']): TrainResult {
    return { status, step: this.step, epoch: this.epoch, last: this.last };
  }
}
