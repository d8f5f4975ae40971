import { join } from 'node:path';
import {
  AdamW,
  type Batch,
  type BatchSource,
  type Callback,
  CheckpointCallback,
  type ConditionalGenerator,
  countParams,
  DivergenceCallback,
  EvalCallback,
  type EvalPoint,
  type Evaluation,
  type FitResult,
  metricsLog,
  observe,
  type ParamCount,
  Rng,
  type RngState,
  type RunFolder,
  SampleCallback,
  saveModel,
  TrainingLoop,
  type TrainingObserver,
  type TrainModel,
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
import {
  DivergenceMonitor,
  type DivergenceMonitorState,
  divergenceHint,
  StallCallback,
} from './divergence.js';
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
  /** More of core's training-loop callbacks (early stopping, a custom stop...), after the trainer's. */
  callbacks?: Callback[];
  /** Stops at the next step boundary, with a checkpoint. */
  signal?: AbortSignal;
  /** Stops (with a checkpoint) once this many steps in total are done. */
  maxSteps?: number;
}

/** The random streams of training, each forked from the seed by its name (in this order). */
const STREAMS = ['noise', 'augment', 'dropout'] as const;
type Stream = (typeof STREAMS)[number];

/** The ACGAN's part of each checkpoint's JSON state, beside the loop's (position, epoch sums, last step). */
type AcganState = {
  rng: Record<Stream, RngState>;
  monitor: DivergenceMonitorState;
  /** EMA updates so far (absent in checkpoints from before `emaDecay`). */
  emaUpdates?: number;
};

/**
 * Trains an ACGAN on a `BatchSource` through core's `TrainingLoop`: Adam for both networks, a step
 * as `acganStep` (then the EMA update), and the loop's callbacks: metrics.jsonl, checkpoints every
 * `training.checkpointEvery` steps and at the end, a fixed-noise sample grid per epoch, the
 * evaluation hook, and divergence (a NaN/inf step rolled back, an exploding loss or a GAN stall,
 * see `DivergenceMonitor`, stop at the last good checkpoint with `DIVERGED`).
 *
 *   const trainer = await AcganTrainer.create({ config, run, onSamples });
 *   await trainer.train(batches);
 *   trainer.dispose();
 */
export class AcganTrainer {
  readonly generator: tf.LayersModel;
  readonly discriminator: tf.LayersModel;
  readonly optimizerG: AdamW;
  readonly optimizerD: AdamW;
  /** The moving average of G's weights, when `training.emaDecay` > 0. */
  readonly ema: WeightAverage | undefined;
  private readonly streams: Record<Stream, Rng>;
  private readonly monitor: DivergenceMonitor;
  private readonly loop: TrainingLoop<Batch>;
  private fixedNoise: tf.Tensor2D | undefined;

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
    // Plain Adam (no weight decay), PyTorch's epsilon 1e-8.
    const adam = (net: tf.LayersModel, lr: number) =>
      new AdamW(
        net.trainableWeights.map((w) => w.read() as tf.Variable),
        { lr, beta1: t.beta1, beta2: t.beta2, epsilon: 1e-8 },
      );
    this.optimizerG = adam(this.generator, t.learningRateG);
    this.optimizerD = adam(this.discriminator, t.learningRateD);
    this.streams = Object.fromEntries(STREAMS.map((k) => [k, root.fork(k)])) as Record<Stream, Rng>;
    attachDropoutRng(this.discriminator, this.streams.dropout);
    this.monitor = new DivergenceMonitor({
      patience: t.divergencePatience,
      maxGeneratorAdvLoss: t.maxGeneratorAdvLoss,
    });
    // A NaN/inf step is rolled back (weights, EMA, Adam, streams) before DIVERGED, by `train` and `trainStep`.
    const divergence = new DivergenceCallback({
      what: 'ACGAN training',
      hint: divergenceHint,
      guard: this.monitor.guard,
      store: options.run?.checkpoints,
      rollback: true,
    });
    this.loop = new TrainingLoop(this.trainModel(), { callbacks: [divergence] });
  }

  /** Builds both networks (seeded) and, if `run` has a checkpoint, restores the newest. */
  static async create(options: AcganTrainerOptions): Promise<AcganTrainer> {
    const trainer = new AcganTrainer(options.config, options);
    if (options.run) await trainer.loop.resumeFrom(options.run.checkpoints);
    return trainer;
  }

  /** Steps done in total, and the epoch in progress (0-based). */
  get step(): number {
    return this.loop.step;
  }

  get epoch(): number {
    return this.loop.epoch;
  }

  get params(): { generator: ParamCount; discriminator: ParamCount } {
    return { generator: countParams(this.generator), discriminator: countParams(this.discriminator) };
  }

  /** Trains until `config.epochs` epochs are done (or the signal / `maxSteps` / a callback stops it). */
  async train(source: BatchSource): Promise<FitResult> {
    const { config, options } = this;
    const { run, onSamples, evaluate } = options;
    if (run) await run.update({ params: this.params, stepsPerEpoch: source.stepsPerEpoch });
    const result = await this.loop.fit(source, {
      epochs: config.epochs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
      callbacks: [
        run && metricsLog(run),
        observe(options.observer),
        new StallCallback(this.monitor, run?.checkpoints),
        onSamples && new SampleCallback({ emit: () => this.emitSamples(onSamples) }),
        evaluate && new EvalCallback(config.eval.every, (at) => evaluate(this.asGenerator(), at)),
        run && new CheckpointCallback(run.checkpoints, { every: config.training.checkpointEvery }),
        ...(options.callbacks ?? []),
      ],
    });
    if (run && result.status === 'completed') {
      await saveModel(this.generator, join(run.dir, FINAL_GENERATOR_DIR));
      if (this.ema) await saveModel(this.ema.shadow, join(run.dir, FINAL_GENERATOR_EMA_DIR));
      await writeJsonAtomic(join(run.dir, FINAL_INFO_FILE), { step: this.step, epoch: this.epoch });
    }
    return result;
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
    return (await this.loop.trainStep({ images, labels, ids: [] })) as StepResult;
  }

  private async emitSamples(onSamples: NonNullable<AcganTrainerOptions['onSamples']>): Promise<void> {
    const grid = this.sampleGrid();
    try {
      await onSamples(grid);
    } finally {
      grid.images.dispose();
    }
  }

  /** What the loop trains and checkpoints. */
  private trainModel(): TrainModel<Batch> {
    const nets = {
      generator: this.generator,
      discriminator: this.discriminator,
      optimizerG: this.optimizerG,
      optimizerD: this.optimizerD,
    };
    return {
      step: (batch) => {
        const result = acganStep(nets, this.config, this.streams, batch.images, batch.labels);
        this.ema?.update();
        return result;
      },
      disposeBatch: (batch) => tf.dispose([batch.images, batch.labels]),
      models: {
        generator: this.generator,
        discriminator: this.discriminator,
        ...(this.ema ? { [EMA_NETWORK]: this.ema.shadow } : {}),
      },
      optimizers: { generator: this.optimizerG, discriminator: this.optimizerD },
      // Checkpoints saved without the EMA load, and start the average over (`setState`).
      optionalModels: [EMA_NETWORK],
      getState: (): AcganState => ({
        rng: Object.fromEntries(STREAMS.map((k) => [k, this.streams[k].state])) as AcganState['rng'],
        monitor: this.monitor.getState(),
        ...(this.ema ? { emaUpdates: this.ema.updates } : {}),
      }),
      setState: (state) => {
        const s = state as unknown as AcganState;
        for (const k of STREAMS) this.streams[k].state = s.rng[k];
        this.monitor.setState(s.monitor);
        if (this.ema && s.emaUpdates === undefined) this.ema.reset();
        else if (this.ema) this.ema.updates = s.emaUpdates!;
      },
    };
  }
}
