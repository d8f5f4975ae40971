import {
  AdamW,
  type BatchSource,
  type CheckpointRef,
  combineObservers,
  DivergedError,
  DivergenceGuard,
  type DivergenceGuardState,
  type EvalPoint,
  type Evaluation,
  type ImageTranslator,
  lastGoodCheckpoint,
  learningRateHint,
  type NamedTensor,
  Rng,
  type RngState,
  type RunFolder,
  SkinganError,
  type TrainingObserver,
} from '@skingan/core';
import * as tf from '@tensorflow/tfjs';
import type { CycleGanConfig } from '../config.js';
import {
  type CycleGanNets,
  createCycleGanNets,
  disposeNets,
  initNets,
  type NET_NAMES,
  netParams,
} from '../networks/cyclegan-nets.js';
import { CycleGanTranslator } from '../translator.js';
import { randomCropFlip } from './augment.js';
import { type CycleGanStepLosses, cycleGanStep, LOSS_NAMES, type StepContext } from './cycle-step.js';
import { DomainStream } from './domain-stream.js';
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
  /** Stops after the current step, with a checkpoint. */
  signal?: AbortSignal;
  /** Stops (with a checkpoint) once this many steps are done in total. */
  maxSteps?: number;
}

export interface CycleGanTrainResult {
  /** Steps done in total, including those of earlier attempts. */
  step: number;
  epoch: number;
  /** False when stopped early by `signal` or `maxSteps`. */
  completed: boolean;
  /** The step a resumed run started from (0 for a fresh run). */
  startStep: number;
  lastLosses: CycleGanStepLosses | undefined;
  checkpoint: CheckpointRef | undefined;
}

export interface TrainerOptions {
  /** On WASM, refuse configs whose estimated peak exceeds the 4 GiB heap. Default true. */
  checkMemory?: boolean;
}

interface CheckpointState {
  epoch: number;
  stepInEpoch: number;
  rng: { augment: RngState; pool: RngState };
  /** Sums of this epoch's losses so far, for the epoch means. */
  epochSums: Record<string, number>;
  /** The divergence guard's recent losses (absent in checkpoints of older versions). */
  guard?: DivergenceGuardState;
}

/**
 * Trains a CycleGAN on two unpaired domains. Networks are built and initialized (from the config's
 * seed) in the constructor; `train` runs the epochs, writing metrics, checkpoints and sample grids
 * when given a run folder, and resumes from the run's last checkpoint.
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
  private stepCount = 0;
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
  }

  /** Steps done so far (restored on resume). */
  get step(): number {
    return this.stepCount;
  }

  /** Trainable parameters per network. */
  params(): Record<(typeof NET_NAMES)[number], number> {
    return netParams(this.nets);
  }

  /** Sets both optimizers' learning rate for 0-based `epoch` (linear decay policy). */
  setEpoch(epoch: number): number {
    const lr = this.config.lr * lrFactor(epoch, this.config.epochs, this.config.decayEpochs);
    this.optG.learningRate = lr;
    this.optD.learningRate = lr;
    return lr;
  }

  /** One optimization step on already cropped batches (`size`²). Inputs stay owned by the caller. */
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
    const losses = cycleGanStep(ctx, realA, realB);
    this.stepCount++;
    return losses;
  }

  /** Sample grids A → B → A and B → A → B for the given images. */
  sampleGrids(samples: SampleImages, at: { step: number; epoch: number }): CycleGanSampleGrid[] {
    return sampleGrids(this.nets, samples, at);
  }

  async train(a: BatchSource, b: BatchSource, options: TrainOptions = {}): Promise<CycleGanTrainResult> {
    const { config } = this;
    const run = options.run;
    const observer = combineObservers(run?.metricsObserver(), options.observer);
    const stepsPerEpoch = Math.max(a.stepsPerEpoch, b.stepsPerEpoch);
    let epoch = 0;
    let stepInEpoch = 0;
    let epochSums: Record<string, number> = {};
    let checkpoint = run ? await run.checkpoints.latest() : undefined;
    if (run && checkpoint) {
      const state = await this.restore(run, checkpoint);
      ({ epoch, stepInEpoch, epochSums } = state);
    }
    const startStep = this.stepCount;
    if (run) {
      await run.update({ params: this.params(), memoryEstimate: this.memory.summary, stepsPerEpoch });
    }
    // One batch per domain per step: each domain's position is the global step count.
    const streamA = new DomainStream(a, this.stepCount);
    const streamB = new DomainStream(b, this.stepCount);
    const started = performance.now();
    let lastLosses: CycleGanStepLosses | undefined;
    const stopRequested = () =>
      options.signal?.aborted || (options.maxSteps !== undefined && this.stepCount >= options.maxSteps);
    const save = async () => {
      if (!run) return;
      checkpoint = await this.saveCheckpoint(run, { epoch, stepInEpoch, epochSums });
      await observer.onCheckpoint?.({
        kind: 'checkpoint',
        step: this.stepCount,
        epoch,
        path: checkpoint.dir,
      });
    };
    const emitSamples = async (fallback: { a: tf.Tensor4D; b: tf.Tensor4D } | undefined) => {
      if (!options.onSamples) return;
      const images = options.samples ?? fallback;
      if (!images) return;
      const grids = this.sampleGrids(images, { step: this.stepCount, epoch });
      try {
        await options.onSamples(grids);
      } finally {
        tf.dispose(grids.map((g) => g.images));
      }
    };

    try {
      for (; epoch < config.epochs; epoch++, stepInEpoch = 0, epochSums = {}) {
        const lr = this.setEpoch(epoch);
        let last: { a: tf.Tensor4D; b: tf.Tensor4D } | undefined;
        try {
          for (; stepInEpoch < stepsPerEpoch; ) {
            if (stopRequested()) {
              await save();
              return { step: this.stepCount, epoch, completed: false, startStep, lastLosses, checkpoint };
            }
            const [batchA, batchB] = await Promise.all([streamA.next(), streamB.next()]);
            const realA = randomCropFlip(batchA.images, config.size, config.flip, this.augmentRng);
            const realB = randomCropFlip(batchB.images, config.size, config.flip, this.augmentRng);
            tf.dispose([batchA.images, batchA.labels, batchB.images, batchB.labels]);
            const t0 = performance.now();
            try {
              lastLosses = this.trainStep(realA, realB);
            } catch (e) {
              tf.dispose([realA, realB]);
              throw e;
            }
            stepInEpoch++;
            for (const n of LOSS_NAMES) epochSums[n] = (epochSums[n] ?? 0) + lastLosses[n];
            const divergence = this.guard.check(this.stepCount, { ...lastLosses });
            if (divergence) {
              tf.dispose([realA, realB]);
              const good = await lastGoodCheckpoint(run?.checkpoints, divergence);
              throw new DivergedError('CycleGAN training', divergence, {
                ...good,
                hint: `${learningRateHint('--lr')}; or check the input images`,
              });
            }
            await observer.onStep?.({
              kind: 'step',
              step: this.stepCount,
              epoch,
              stepInEpoch: stepInEpoch - 1,
              stepsPerEpoch,
              losses: { ...lastLosses },
              metrics: { lr },
              elapsedMs: performance.now() - t0,
            });
            const sampleNow = config.sampleEvery > 0 && this.stepCount % config.sampleEvery === 0;
            tf.dispose([last?.a, last?.b].filter((t): t is tf.Tensor4D => t !== undefined));
            last = { a: realA, b: realB };
            if (sampleNow) await emitSamples(last);
            if (
              config.checkpointEvery > 0 &&
              this.stepCount % config.checkpointEvery === 0 &&
              stepInEpoch < stepsPerEpoch
            ) {
              await save();
            }
          }
          const n = stepsPerEpoch;
          await observer.onEpoch?.({
            kind: 'epoch',
            epoch,
            epochs: config.epochs,
            step: this.stepCount,
            losses: Object.fromEntries(LOSS_NAMES.map((k) => [k, (epochSums[k] ?? 0) / n])),
            metrics: { lr },
            elapsedMs: performance.now() - started,
          });
          if (config.sampleEvery === 0 || this.stepCount % config.sampleEvery !== 0) await emitSamples(last);
          if (options.evaluate && config.eval.every > 0 && (epoch + 1) % config.eval.every === 0) {
            const t0 = performance.now();
            const translator = new CycleGanTranslator(this.nets.G_A, config.size, 'a2b');
            const evaluation = await options.evaluate(translator, {
              epoch,
              step: this.stepCount,
              final: epoch + 1 === config.epochs,
            });
            if (evaluation) {
              await observer.onEval?.({
                kind: 'eval',
                epoch,
                step: this.stepCount,
                ...evaluation,
                elapsedMs: performance.now() - t0,
              });
            }
          }
        } finally {
          tf.dispose([last?.a, last?.b].filter((t): t is tf.Tensor4D => t !== undefined));
        }
        // The epoch is complete: a resume starts the next one.
        const next = { epoch: epoch + 1, stepInEpoch: 0, epochSums: {} };
        if (run) {
          checkpoint = await this.saveCheckpoint(run, next);
          // The checkpoint's own epoch (the next one to run), as a resume re-logs it.
          await observer.onCheckpoint?.({
            kind: 'checkpoint',
            step: this.stepCount,
            epoch: checkpoint.epoch,
            path: checkpoint.dir,
          });
        }
      }
      return { step: this.stepCount, epoch, completed: true, startStep, lastLosses, checkpoint };
    } finally {
      await Promise.all([streamA.close(), streamB.close()]);
    }
  }

  private async saveCheckpoint(
    run: RunFolder<CycleGanConfig>,
    at: { epoch: number; stepInEpoch: number; epochSums: Record<string, number> },
  ): Promise<CheckpointRef> {
    const state: CheckpointState = {
      ...at,
      rng: { augment: this.augmentRng.state, pool: this.poolRng.state },
      guard: this.guard.getState(),
    };
    return run.checkpoints.save<CheckpointState>({
      step: this.stepCount,
      epoch: at.epoch,
      models: { ...this.nets },
      optimizers: this.tensorStates(),
      state,
    });
  }

  private async restore(run: RunFolder<CycleGanConfig>, ref: CheckpointRef): Promise<CheckpointState> {
    const restored = await run.checkpoints.restore<CheckpointState>(ref, {
      models: { ...this.nets },
      optimizers: this.tensorStates(),
    });
    this.stepCount = restored.step;
    this.augmentRng.state = restored.state.rng.augment;
    this.poolRng.state = restored.state.rng.pool;
    this.guard.setState(restored.state.guard);
    return restored.state;
  }

  /**
   * Both Adam states and both image pools, for CheckpointStore's `optimizers` (which calls only
   * getWeights/setWeights), so they are written inside the same atomic checkpoint as the networks.
   */
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

const variablesOf = (...models: tf.LayersModel[]): tf.Variable[] =>
  models.flatMap((m) => m.trainableWeights.map((w) => w.read() as tf.Variable));

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
