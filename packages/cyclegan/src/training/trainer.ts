import {
  AdamW,
  type BatchSource,
  type Callback,
  CheckpointCallback,
  DivergenceCallback,
  DivergenceGuard,
  type DivergenceGuardState,
  EvalCallback,
  type EvalPoint,
  type Evaluation,
  type FitResult,
  type ImageTranslator,
  learningRateHint,
  metricsLog,
  type NamedTensor,
  observe,
  ParamSchedule,
  Rng,
  type RngState,
  type RunFolder,
  SampleCallback,
  SkinganError,
  TrainingLoop,
  type TrainingObserver,
  type TrainModel,
} from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { CycleGanConfig } from '../config.js';
import {
  type CycleGanNets,
  createCycleGanNets,
  disposeNets,
  initNets,
  type NetName,
  netParams,
} from '../networks/cyclegan-nets.js';
import { CycleGanTranslator } from '../translator.js';
import { randomCropFlip } from './augment.js';
import { type CycleGanStepLosses, cycleGanStep, type StepContext, variablesOf } from './cycle-step.js';
import { type BatchPair, PairedSource } from './domain-stream.js';
import { ImagePool } from './image-pool.js';
import { lrFactor } from './lr-schedule.js';
import { estimateTrainingMemory, type MemoryEstimate, WASM_HEAP_LIMIT } from './memory.js';
import { type CycleGanSampleGrid, type SampleImages, sampleGrids } from './samples.js';

export interface TrainOptions {
  /** Where config, metrics, checkpoints and run.json go. A run with a checkpoint is resumed from it. */
  run?: RunFolder<CycleGanConfig>;
  observer?: TrainingObserver;
  /** Receives the sample grids (A → B → A, B → A → B); the trainer disposes them afterwards. */
  onSamples?: (grids: CycleGanSampleGrid[]) => void | Promise<void>;
  /**
   * Measures A → B after every `config.eval.every` epochs (e.g. with @skingan/metrics'
   * `QualityProbe`, translating fixed domain-A images); the result goes to the observer as an
   * `eval` event (metrics.jsonl, warnings). The translator is the live G_A: use it, do not keep it.
   */
  evaluate?: (translator: ImageTranslator, at: EvalPoint) => Promise<Evaluation | undefined>;
  /** Fixed images for the sample grids (at `size`); default: the current step's crops. */
  samples?: SampleImages;
  /** More of core's training-loop callbacks (early stopping, a custom stop...), after the trainer's. */
  callbacks?: Callback[];
  /** Stops after the current step, with a checkpoint. */
  signal?: AbortSignal;
  /** Stops (with a checkpoint) once this many steps are done in total. */
  maxSteps?: number;
}

export interface TrainerOptions {
  /** On WASM, refuse configs whose estimated peak exceeds the 4 GiB heap. Default true. */
  checkMemory?: boolean;
}

/** The CycleGAN's part of each checkpoint's JSON state, beside the loop's (position, epoch sums). */
type CycleGanState = {
  /** The epoch a resume starts in (also the checkpoint's own `epoch`). */
  epoch: number;
  rng: { augment: RngState; pool: RngState };
  /** The divergence guard's recent losses (absent in checkpoints of older versions). */
  guard?: DivergenceGuardState;
};

/**
 * Trains a CycleGAN on two unpaired domains. Networks are built and initialized (from the config's
 * seed) in the constructor; `train` runs the epochs on core's `TrainingLoop` (a step: random crops
 * and flips, then `cycleGanStep`), writing metrics, checkpoints and sample grids when given a run
 * folder, and resumes from the run's last checkpoint.
 */
export class CycleGanTrainer {
  readonly nets: CycleGanNets;
  readonly memory: MemoryEstimate;
  /** Adam over both generators' variables, and over both discriminators'. */
  readonly optG: AdamW;
  readonly optD: AdamW;
  private readonly poolA: ImagePool;
  private readonly poolB: ImagePool;
  private readonly augmentRng: Rng;
  private readonly poolRng: Rng;
  private readonly loop: TrainingLoop<BatchPair>;
  /** The last step's crops: the sample grids' images when no fixed ones are given. */
  private lastCrops: { a: tf.Tensor4D; b: tf.Tensor4D } | undefined;
  /** Stops on a NaN/inf or exploding loss (core's guard, as every trainer). */
  private readonly guard = new DivergenceGuard();

  constructor(
    readonly config: CycleGanConfig,
    options: TrainerOptions = {},
  ) {
    const root = new Rng(config.seed);
    // Zero weights first: the memory check needs only the shapes, and a refusal should be quick.
    this.nets = createCycleGanNets(config);
    this.memory = estimateTrainingMemory(this.nets, config);
    if ((options.checkMemory ?? true) && tf.getBackend() === 'wasm') {
      const inUse = tf.memory().numBytes;
      if (this.memory.peakBytes + inUse > WASM_HEAP_LIMIT) {
        disposeNets(this.nets);
        throw outOfMemory(config, this.memory, inUse);
      }
    }
    initNets(this.nets, root.fork('init'));
    this.augmentRng = root.fork('augment');
    this.poolRng = root.fork('pool');
    this.poolA = new ImagePool(config.poolSize, this.poolRng);
    this.poolB = new ImagePool(config.poolSize, this.poolRng);
    // Plain Adam (no weight decay, PyTorch's ε 1e-8), one over both generators and one over both
    // discriminators, as the reference.
    const adam = { lr: config.lr, beta1: config.beta1, beta2: config.beta2, epsilon: 1e-8 };
    this.optG = new AdamW(variablesOf(this.nets.G_A, this.nets.G_B), adam);
    this.optD = new AdamW(variablesOf(this.nets.D_A, this.nets.D_B), adam);
    this.loop = new TrainingLoop(this.trainModel());
  }

  /** Steps done so far (restored on resume). */
  get step(): number {
    return this.loop.step;
  }

  /** Trainable parameters per network. */
  params(): Record<NetName, number> {
    return netParams(this.nets);
  }

  /** Sets both optimizers' learning rate for 0-based `epoch` (linear decay policy). */
  setEpoch(epoch: number): number {
    const lr = this.config.lr * lrFactor(epoch, this.config.epochs, this.config.decayEpochs);
    this.optG.learningRate = lr;
    this.optD.learningRate = lr;
    return lr;
  }

  /**
   * One optimization step on already cropped batches (`size`²), outside `train` (not counted in
   * `step`): for benchmarks and custom loops. Inputs stay owned by the caller.
   */
  trainStep(realA: tf.Tensor4D, realB: tf.Tensor4D): CycleGanStepLosses {
    const ctx: StepContext = {
      nets: this.nets,
      optG: this.optG,
      optD: this.optD,
      poolA: this.poolA,
      poolB: this.poolB,
      lambdaA: this.config.lambdaA,
      lambdaB: this.config.lambdaB,
      lambdaIdentity: this.config.lambdaIdentity,
    };
    return cycleGanStep(ctx, realA, realB);
  }

  /** Sample grids A → B → A and B → A → B for the given images. */
  sampleGrids(samples: SampleImages, at: { step: number; epoch: number }): CycleGanSampleGrid[] {
    return sampleGrids(this.nets, samples, at);
  }

  async train(a: BatchSource, b: BatchSource, options: TrainOptions = {}): Promise<FitResult> {
    const { config } = this;
    const { run, onSamples, evaluate } = options;
    const pairs = new PairedSource(a, b);
    if (run) {
      await this.loop.resumeFrom(run.checkpoints);
      const stepsPerEpoch = pairs.stepsPerEpoch;
      await run.update({ params: this.params(), memoryEstimate: this.memory.summary, stepsPerEpoch });
    }
    try {
      return await this.loop.fit(pairs, {
        epochs: config.epochs,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.maxSteps !== undefined ? { maxSteps: options.maxSteps } : {}),
        callbacks: [
          new DivergenceCallback({
            what: 'CycleGAN training',
            hint: `${learningRateHint('--lr')}; or check the input images`,
            guard: this.guard,
            store: run?.checkpoints,
          }),
          // setEpoch sets both optimizers' rate and returns it for the metrics.
          new ParamSchedule(
            'lr',
            (at) => this.setEpoch(at.epoch),
            () => {},
          ),
          run && metricsLog(run),
          observe(options.observer),
          onSamples &&
            new SampleCallback({
              everySteps: config.sampleEvery,
              emit: (at) => this.emitSamples(onSamples, options.samples ?? this.lastCrops, at),
            }),
          evaluate &&
            new EvalCallback(config.eval.every, (at) =>
              evaluate(new CycleGanTranslator(this.nets.G_A, config.size, 'a2b'), at),
            ),
          run && new CheckpointCallback(run.checkpoints, { every: config.checkpointEvery, everyEpoch: true }),
          ...(options.callbacks ?? []),
        ],
      });
    } finally {
      await pairs.close();
      this.releaseCrops();
    }
  }

  private async emitSamples(
    onSamples: NonNullable<TrainOptions['onSamples']>,
    images: SampleImages | undefined,
    at: { step: number; epoch: number },
  ): Promise<void> {
    if (!images) return;
    const grids = this.sampleGrids(images, at);
    try {
      await onSamples(grids);
    } finally {
      tf.dispose(grids.map((g) => g.images));
    }
  }

  private releaseCrops(): void {
    if (this.lastCrops) tf.dispose([this.lastCrops.a, this.lastCrops.b]);
    this.lastCrops = undefined;
  }

  /** What the loop trains and checkpoints. */
  private trainModel(): TrainModel<BatchPair> {
    const trainer = this;
    return {
      step: ([batchA, batchB]) => {
        const { size, flip } = this.config;
        const realA = randomCropFlip(batchA.images, size, flip, this.augmentRng);
        const realB = randomCropFlip(batchB.images, size, flip, this.augmentRng);
        disposePair([batchA, batchB]);
        let losses: CycleGanStepLosses;
        try {
          losses = this.trainStep(realA, realB);
        } catch (e) {
          tf.dispose([realA, realB]);
          throw e;
        }
        this.releaseCrops();
        this.lastCrops = { a: realA, b: realB };
        return { losses: { ...losses } };
      },
      disposeBatch: disposePair,
      models: { ...this.nets },
      // Both Adam states and both image pools, written inside the same atomic checkpoint as the
      // networks (CheckpointStore's `optimizers` calls only getWeights/setWeights).
      get optimizers() {
        return trainer.tensorStates();
      },
      getState: (): CycleGanState => ({
        epoch: this.loop.epoch,
        rng: { augment: this.augmentRng.state, pool: this.poolRng.state },
        guard: this.guard.getState(),
      }),
      setState: (state) => {
        const s = state as unknown as CycleGanState;
        this.augmentRng.state = s.rng.augment;
        this.poolRng.state = s.rng.pool;
        this.guard.setState(s.guard);
      },
    };
  }

  /** Both Adam states and both image pools, as CheckpointStore's `optimizers`. */
  private tensorStates(): Record<string, tf.Optimizer> {
    const asState = (s: TensorState) => s as unknown as tf.Optimizer;
    return {
      G: this.optG,
      D: this.optD,
      pool_A: asState(poolState(this.poolA, 'pool_A')),
      pool_B: asState(poolState(this.poolB, 'pool_B')),
    };
  }

  dispose(): void {
    this.releaseCrops();
    disposeNets(this.nets);
    this.optG.dispose();
    this.optD.dispose();
    this.poolA.clear();
    this.poolB.clear();
  }
}

/** What CheckpointStore needs of an "optimizer": its state as named tensors, and back. */
interface TensorState {
  getWeights(): Promise<NamedTensor[]>;
  setWeights(saved: NamedTensor[]): Promise<void>;
}

function poolState(pool: ImagePool, name: string): TensorState {
  return {
    getWeights: async () => pool.toNamedTensors(name),
    setWeights: async (saved) => pool.restore(saved),
  };
}

const disposePair = ([a, b]: BatchPair) => tf.dispose([a.images, a.labels, b.images, b.labels]);

function outOfMemory(config: CycleGanConfig, m: MemoryEstimate, inUse: number): SkinganError {
  const gib = (x: number) => (x / 2 ** 30).toFixed(2);
  const s = m.summary;
  return new SkinganError(
    `this CycleGAN needs about ${gib(m.peakBytes)} GiB to train (${config.size}×${config.size}, ngf ${config.ngf}, ndf ${config.ndf}, ` +
      `${config.blocks} blocks, batch ${config.batchSize}: activations ${s.activationsMiB} MiB, parameters + Adam ${s.parametersMiB} MiB, ` +
      `pools + batches ${s.buffersMiB} MiB)${inUse > 0 ? ` plus ${gib(inUse)} GiB already in use` : ''}; ` +
      `the WASM backend's heap holds at most 4 GiB, of which ${gib(WASM_HEAP_LIMIT)} GiB can be planned for`,
    {
      code: 'OUT_OF_MEMORY',
      hint: 'lower --size, --ngf/--ndf, --blocks or --batch-size, or install @tensorflow/tfjs-node for the native backend (no such limit)',
    },
  );
}
