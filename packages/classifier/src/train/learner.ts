import {
  AdamW,
  type BatchSource,
  type Callback,
  CheckpointCallback,
  DivergenceCallback,
  DivergenceGuard,
  type DivergenceGuardState,
  EarlyStopping,
  type FitResult,
  learningRateHint,
  type MonitorOptions,
  metricsLog,
  observe,
  ParamSchedule,
  Rng,
  type RngState,
  type RunFolder,
  SaveBest,
  type SchedulePoint,
  SkinganError,
  TrainingLoop,
  type TrainingObserver,
  type TrainModel,
} from '@skingan/core';
import { type ClassificationReport, classificationReport } from '@skingan/metrics';
import * as tf from '@tensorflow/tfjs';
import type { ImageClassifier } from '../classifier.js';
import { FASTAI_ADAM, fastaiParamGroups } from './adam.js';
import {
  copyWeights,
  hasFinalModel,
  readBest,
  setWeights,
  writeBest,
  writeFinalModel,
} from './best-model.js';
import { FeatureCache, type LearnerBatch, PhaseFeatures } from './feature-cache.js';
import { crossEntropy } from './loss.js';
import { type LrFinderOptions, type LrFinderResult, lrFinderLoop } from './lr-find.js';
import {
  type FineTuneOptions,
  type FitPhase,
  fineTunePhases,
  type OneCyclePhaseOptions,
  oneCyclePhase,
} from './phases.js';
import { oneCycle } from './schedule.js';

export interface LearnerOptions {
  train: BatchSource;
  /** Validation data: per-epoch loss/accuracy/balanced accuracy, best model and early stopping. */
  val?: BatchSource;
  /** The train source augments its images, so a frozen backbone still has to see every batch. */
  augmented?: boolean;
  /** Decoupled weight decay; fastai's Adam: 0.01 (not on BatchNorm parameters and biases). */
  wd?: number;
  sqrMom?: number;
  eps?: number;
  /** Loss weight per class (see `balancedClassWeights`); default unweighted. */
  classWeights?: readonly number[];
  /** Seeds dropout and the order of cached-feature batches. */
  seed?: number;
  /** Stop a phase after this many epochs without a better validation balanced accuracy; null: never. */
  patience?: number | null;
  observer?: TrainingObserver;
  /** More of core's training-loop callbacks (a custom stop...), after the learner's, in every phase. */
  callbacks?: Callback[];
  /** Where checkpoints, metrics, `best/` and the final `model/` go. */
  run?: RunFolder;
  /** Progress of the feature pass and other one-off work. */
  log?: (line: string) => void;
  /**
   * Stops training after the current step. The epoch in progress is dropped: a resumed run repeats
   * it from the last checkpoint (written at the end of every epoch).
   */
  signal?: AbortSignal;
}

/** One trained epoch, as the learner's result and checkpoints list it. */
export interface EpochRecord {
  epoch: number;
  phase: number;
  frozen: boolean;
  steps: number;
  trainLoss: number;
  valLoss?: number;
  valAccuracy?: number;
  valBalancedAccuracy?: number;
  ms: number;
}

/** What `fit` returns: core's `FitResult` (every model's), with the learner's epoch records. */
export interface LearnerResult extends FitResult {
  /** Epochs trained in total (all phases, including those of a resumed attempt). */
  epochs: number;
  /** A phase ended early because validation stopped improving. */
  stoppedEarly: boolean;
  /** The epoch whose weights the classifier holds at the end (best by validation balanced accuracy). */
  best: EpochRecord | null;
  history: EpochRecord[];
}

/** The learner's part of each checkpoint's state, beside the loop's (the layout of every version). */
type LearnerState = {
  /** Global epochs trained. */
  epochsDone: number;
  /** The global epoch to train next (after an early stop: the next phase's first). */
  nextEpoch: number;
  step: number;
  best: EpochRecord | null;
  /** Early stopping's count in the phase in progress. */
  badEpochs: number;
  stoppedEarly: boolean;
  history: EpochRecord[];
};

type TrainState = LearnerState & {
  rng: RngState;
  /** The divergence guard's recent losses (absent in checkpoints of older versions). */
  guard?: DivergenceGuardState;
};

/** What one `fit`'s model and callbacks share. */
interface FitContext {
  state: LearnerState;
  /** The phase in progress: what trains, the scheduled hyperparameters, its cached features. */
  phase: { frozen: boolean; hypers: { lr: number[]; mom: number }; features: PhaseFeatures | undefined };
  guard: DivergenceGuard;
  saveBest: SaveBest;
  /** The best epoch's weights (restored at the end), and the epoch whose best/ is still to write. */
  best: { weights: tf.Tensor[] | null; unsaved?: number | undefined };
}

/**
 * The best epoch and early stopping go by validation balanced accuracy. Their state is the
 * learner's (`best`, `badEpochs`), which checkpoints have always held, not the loop's.
 */
const BY_BALANCED_ACCURACY: MonitorOptions = { monitor: 'valBalancedAccuracy', mode: 'max', stateKey: null };

/**
 * Trains an `ImageClassifier` the fastai way: fastai's Adam (decoupled weight decay), one-cycle
 * learning rates and momentum, `fine_tune` (head first with the backbone frozen, then everything
 * with discriminative learning rates), the LR finder, early stopping and the best model by
 * validation balanced accuracy. With a run folder it checkpoints every epoch and resumes.
 *
 * Unlike fastai, a frozen backbone is frozen entirely (BatchNorm too, in inference mode), so its
 * weights stay bit-identical and its features can be computed once for all frozen epochs.
 */
export class Learner {
  /** fastai's Adam: one group per layer group, β1 and the groups' lr set by the schedule each step. */
  readonly optimizer: AdamW;
  private readonly headVars: tf.Variable[];
  private readonly allVars: tf.Variable[];
  private readonly seed: number;
  private readonly dropoutRng: Rng;
  private readonly classWeights: tf.Tensor1D | undefined;

  constructor(
    readonly classifier: ImageClassifier,
    readonly options: LearnerOptions,
  ) {
    const groups = classifier.layerGroups();
    this.optimizer = new AdamW(fastaiParamGroups(groups), {
      beta1: FASTAI_ADAM.mom,
      beta2: options.sqrMom ?? FASTAI_ADAM.sqrMom,
      epsilon: options.eps ?? FASTAI_ADAM.eps,
      weightDecay: options.wd ?? FASTAI_ADAM.wd,
    });
    this.allVars = this.optimizer.groups.flatMap((g) => g.variables);
    this.headVars = [...this.optimizer.groups.at(-1)!.variables];
    this.seed = options.seed ?? 0;
    this.dropoutRng = new Rng(`${this.seed}:dropout`);
    if (options.classWeights) {
      if (options.classWeights.length !== classifier.numClasses) {
        throw new SkinganError(
          `${options.classWeights.length} class weights for ${classifier.numClasses} classes`,
          { code: 'USAGE' },
        );
      }
      this.classWeights = tf.tensor1d([...options.classWeights]);
    }
  }

  /** fastai `fit_one_cycle`. */
  fitOneCycle(
    epochs: number,
    lr: number | { start?: number; stop: number },
    o: OneCyclePhaseOptions & { resume?: boolean } = {},
  ): Promise<LearnerResult> {
    return this.fit([oneCyclePhase(epochs, lr, o)], { resume: o.resume });
  }

  /** fastai `fine_tune`. */
  fineTune(epochs: number, o: FineTuneOptions & { resume?: boolean } = {}): Promise<LearnerResult> {
    return this.fit(fineTunePhases(epochs, o), { resume: o.resume });
  }

  /**
   * Runs phases in order on core's `TrainingLoop`, one fit per phase (a global epoch count spans
   * them), checkpointing every epoch with a run folder. With `resume` and a run folder that has a
   * checkpoint, continues after its last completed epoch with the same schedule position,
   * optimizer state, dropout stream and best model.
   */
  async fit(
    phases: readonly FitPhase[],
    { resume = false }: { resume?: boolean } = {},
  ): Promise<LearnerResult> {
    const { run, log } = this.options;
    const state: LearnerState = {
      epochsDone: 0,
      nextEpoch: 0,
      step: 0,
      best: null,
      badEpochs: 0,
      stoppedEarly: false,
      history: [],
    };
    const best: FitContext['best'] = { weights: null };
    const ctx: FitContext = {
      state,
      phase: { frozen: false, hypers: { lr: [], mom: 0 }, features: undefined },
      guard: new DivergenceGuard(),
      // A new best: its weights kept in memory, and in best/ once the checkpoint naming it is written.
      saveBest: new SaveBest(BY_BALANCED_ACCURACY, (loop) => {
        tf.dispose(best.weights ?? []);
        best.weights = copyWeights(this.classifier);
        best.unsaved = loop.epoch;
      }),
      best,
    };
    const loop: TrainingLoop<LearnerBatch> = new TrainingLoop(this.trainModel(ctx, () => loop.step));
    const totalEpochs = phases.reduce((n, p) => n + p.epochs, 0);
    let result: FitResult | undefined;
    try {
      const latest = resume && run ? await loop.resumeFrom(run.checkpoints) : undefined;
      if (latest && run) {
        if (state.best)
          best.weights = await readBest(this.classifier, run.dir, state.best.epoch, latest.epoch);
        log?.(
          state.nextEpoch >= totalEpochs
            ? `the run has trained all ${totalEpochs} epochs already: nothing to resume`
            : `resuming at epoch ${state.nextEpoch + 1} (step ${state.step})`,
        );
      }
      const epochsBefore = state.epochsDone;
      let start = 0;
      for (const [index, p] of phases.entries()) {
        const end = start + p.epochs;
        if (state.nextEpoch < end) {
          if (state.nextEpoch <= start) state.badEpochs = 0;
          loop.advanceTo(Math.max(state.nextEpoch, start));
          result = await this.fitPhase(loop, p, { index, start, end }, ctx);
          if (result.status === 'stopped') break;
          if (result.reason) log?.(result.reason);
          loop.advanceTo(end);
        }
        start = end;
      }
      const stopped = result?.status === 'stopped';
      if (!stopped) {
        if (best.weights) setWeights(this.classifier, best.weights);
        // A resume of a finished run trains nothing and leaves its model/ as it is.
        const trained = state.epochsDone > epochsBefore;
        if (run && (trained || !(await hasFinalModel(run.dir))))
          await writeFinalModel(this.classifier, run.dir);
      }
      return {
        status: stopped ? 'stopped' : 'completed',
        step: loop.step,
        epoch: loop.epoch,
        startStep: result?.startStep ?? loop.step,
        last: loop.last,
        checkpoint: loop.checkpoint,
        ...(result?.reason !== undefined ? { reason: result.reason } : {}),
        epochs: state.epochsDone,
        stoppedEarly: state.stoppedEarly,
        best: state.best,
        history: state.history,
      };
    } finally {
      tf.dispose(best.weights ?? []);
    }
  }

  /**
   * One phase: its feature caches, one-cycle schedule, early stopping, epoch records and
   * checkpoints as callbacks.
   */
  private async fitPhase(
    loop: TrainingLoop<LearnerBatch>,
    p: FitPhase,
    at: { index: number; start: number; end: number },
    { state, phase, guard, saveBest, best }: FitContext,
  ): Promise<FitResult> {
    const { run, observer, signal, train, val, patience } = this.options;
    const useCache = p.frozen && !this.options.augmented;
    const features = p.frozen
      ? new PhaseFeatures(
          (source, what) => this.buildCache(source, what),
          { train: useCache ? train : undefined, val },
          train.batchSize,
          this.seed,
        )
      : undefined;
    phase.frozen = p.frozen;
    // Validation reads this phase's cached features, once built.
    phase.features = features;
    const sched = oneCycle(p);
    // The one-cycle position: steps of this phase done over its steps in all.
    const pos = (s: SchedulePoint) =>
      Math.min(1, ((s.epoch - at.start) * s.stepsPerEpoch + s.stepInEpoch) / (s.stepsPerEpoch * p.epochs));
    const early = new EarlyStopping({
      ...BY_BALANCED_ACCURACY,
      // None: it still counts the epochs without a gain (checkpoints hold the count), but never stops.
      patience: patience ?? Number.POSITIVE_INFINITY,
      // The warm-up's rising learning rate makes validation worse by design.
      warmupEnd: at.start + Math.ceil(p.pctStart * p.epochs),
      reason: () =>
        `phase ${at.index + 1}: no better validation balanced accuracy for ${patience} epochs, stopping it`,
    });
    // Against the best of every phase so far, counting from this phase's start (or the checkpoint's count).
    early.setState({ ...saveBest.best, wait: state.badEpochs });
    // The epoch's record, once judged (order 30) and before the checkpoint that saves it (100).
    const records: Callback = {
      order: 31,
      afterEpoch: (l, e) => {
        const record: EpochRecord = {
          epoch: e.epoch,
          phase: at.index,
          frozen: p.frozen,
          steps: l.stepInEpoch,
          trainLoss: e.losses.loss ?? 0,
          ms: Math.round(e.elapsedMs),
        };
        const score = e.metrics?.valBalancedAccuracy;
        if (score !== undefined) {
          record.valLoss = e.losses.valLoss!;
          record.valAccuracy = e.metrics!.valAccuracy!;
          record.valBalancedAccuracy = score;
        }
        if (saveBest.best.bestEpoch === e.epoch) state.best = record;
        state.history.push(record);
        state.epochsDone += 1;
        state.badEpochs = early.getState().wait;
        state.nextEpoch = early.stopped ? at.end : e.epoch + 1;
        state.stoppedEarly ||= early.stopped;
      },
    };
    // best/ after the checkpoint that names it (a crash between leaves a checkpoint whose own
    // weights are the best, which a resume takes: see readBest), before the observers hear of it.
    const bestOnDisk: Callback = {
      order: -5,
      onCheckpoint: async () => {
        const epoch = best.unsaved;
        best.unsaved = undefined;
        if (run && epoch !== undefined) await writeBest(this.classifier, run.dir, epoch);
      },
    };
    try {
      return await loop.fit(useCache ? features! : train, {
        epochs: at.end,
        ...(signal ? { signal } : {}),
        callbacks: [
          features,
          new DivergenceCallback({
            what: 'classifier training',
            hint: learningRateHint('--lr'),
            guard,
            store: run?.checkpoints,
          }),
          new ParamSchedule(
            'lr',
            (s) => sched.lr(pos(s)),
            (lr) => {
              phase.hypers.lr = lr;
            },
          ),
          new ParamSchedule(
            'mom',
            (s) => sched.mom(pos(s)),
            (mom) => {
              phase.hypers.mom = mom;
            },
          ),
          saveBest,
          early,
          records,
          bestOnDisk,
          run && metricsLog(run),
          observe(observer),
          // Every epoch's end, named by that epoch; a stop mid-epoch drops the epoch in progress.
          run &&
            new CheckpointCallback(run.checkpoints, {
              everyEpoch: true,
              final: false,
              epochLabel: (l) => l.epoch - 1,
            }),
          ...(this.options.callbacks ?? []),
        ],
      });
    } finally {
      phase.features = undefined;
    }
  }

  /** What the loop trains and checkpoints: the learner's state beside the loop's. */
  private trainModel(
    { state, phase, guard, saveBest }: FitContext,
    step: () => number,
  ): TrainModel<LearnerBatch> {
    return {
      step: (b) => ({ losses: { loss: this.step(b, phase.frozen, phase.hypers.lr, phase.hypers.mom) } }),
      disposeBatch,
      models: { backbone: this.classifier.backbone, head: this.classifier.head },
      optimizers: { adam: this.optimizer },
      getState: (): TrainState => ({
        ...state,
        step: step(),
        rng: this.dropoutRng.state,
        guard: guard.getState(),
      }),
      setState: (saved) => {
        const s = saved as unknown as TrainState;
        for (const k of Object.keys(state) as (keyof LearnerState)[]) {
          (state as Record<string, unknown>)[k] = s[k];
        }
        this.dropoutRng.state = s.rng;
        guard.setState(s.guard);
        saveBest.setState({
          best: s.best?.valBalancedAccuracy ?? null,
          bestEpoch: s.best?.epoch ?? null,
          wait: 0,
        });
      },
      ...(this.options.val
        ? {
            validate: async () => {
              const v = await this.validate(phase.features?.val);
              return {
                losses: { valLoss: v.loss },
                metrics: { valAccuracy: v.report.accuracy, valBalancedAccuracy: v.report.balancedAccuracy },
              };
            },
          }
        : {}),
    };
  }

  /**
   * One optimization step on images (the backbone runs in training mode unless frozen) or on
   * cached features (head only). Returns the batch loss.
   */
  step(
    input: { images?: tf.Tensor4D; features?: tf.Tensor2D; labels: tf.Tensor1D },
    frozen: boolean,
    lr: number[],
    mom: number,
  ): number {
    const vars = frozen ? this.headVars : this.allVars;
    const frozenFeatures =
      frozen && !input.features && input.images ? this.classifier.features(input.images, false) : undefined;
    try {
      const { value, grads } = tf.variableGrads(() => {
        const features = input.features ?? frozenFeatures ?? this.classifier.features(input.images!, true);
        const logits = this.classifier.logits(features, true, this.dropoutRng);
        return crossEntropy(logits, input.labels, this.classWeights);
      }, vars);
      if (lr.length !== this.optimizer.groups.length) {
        const groups = this.optimizer.groups.length;
        throw new SkinganError(`${lr.length} learning rates for ${groups} layer groups`, {
          code: 'INTERNAL',
        });
      }
      this.optimizer.beta1 = mom;
      lr.forEach((x, k) => {
        this.optimizer.groups[k]!.lr = x;
      });
      this.optimizer.applyGradients(grads);
      const loss = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      return loss;
    } finally {
      frozenFeatures?.dispose();
    }
  }

  /** Loss, accuracy, balanced accuracy and the full report on the validation source. */
  async validate(cache?: FeatureCache): Promise<{ loss: number; report: ClassificationReport }> {
    const source = this.options.val;
    if (!source) throw new SkinganError('no validation data', { code: 'USAGE' });
    const truth: number[] = [];
    const probs: number[][] = [];
    let lossSum = 0;
    const consume = async (logits: tf.Tensor2D, labels: number[]) => {
      const labelsT = tf.tensor1d(labels, 'int32');
      const loss = crossEntropy(logits, labelsT, this.classWeights);
      const p = tf.softmax(logits);
      lossSum += (await loss.data())[0]! * labels.length;
      probs.push(...((await p.array()) as number[][]));
      truth.push(...labels);
      tf.dispose([labelsT, loss, p, logits]);
    };
    if (cache) {
      for (const b of cache.inOrder(source.batchSize)) {
        await consume(this.classifier.logits(b.features), b.labels);
        b.features.dispose();
      }
    } else {
      for await (const batch of source.epoch(0)) {
        try {
          const labels = Array.from(await batch.labels.data());
          await consume(
            tf.tidy(() => this.classifier.logits(this.classifier.features(batch.images))),
            labels,
          );
        } finally {
          tf.dispose([batch.images, batch.labels]);
        }
      }
    }
    const report = classificationReport(truth, probs, { classes: this.classifier.labelSpace.classes });
    return { loss: truth.length ? lossSum / truth.length : 0, report };
  }

  /**
   * fastai's `lr_find`: an exponential learning-rate sweep on the training data from the current
   * weights, which are restored afterwards (optimizer state too). `frozen` sweeps the head alone,
   * as on a freshly created pretrained learner; features are then computed once when possible.
   */
  async lrFind(
    options: LrFinderOptions & {
      frozen?: boolean;
      onStep?: (i: number, lr: number, loss: number) => void;
    } = {},
  ): Promise<LrFinderResult> {
    const frozen = options.frozen ?? false;
    const saved = copyWeights(this.classifier);
    const savedOpt = await this.optimizer.getWeights();
    const optCopy = savedOpt.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
    const { train, augmented } = this.options;
    const { seed } = this;
    const cache = frozen && !augmented ? await this.buildCache(train, 'train') : undefined;
    // Epoch after epoch, for as many steps as the sweep takes.
    async function* batches(): AsyncGenerator<LearnerBatch> {
      for (let epoch = 0; ; epoch++)
        yield* cache ? cache.batches(epoch, train.batchSize, seed) : train.epoch(epoch);
    }
    const source = batches();
    try {
      return await lrFinderLoop(async (lr, i) => {
        const b = (await source.next()).value as LearnerBatch;
        let loss: number;
        try {
          loss = this.step(b, frozen, new Array(this.optimizer.groups.length).fill(lr), FASTAI_ADAM.mom);
        } finally {
          disposeBatch(b);
        }
        options.onStep?.(i, lr, loss);
        return loss;
      }, options);
    } finally {
      cache?.dispose();
      setWeights(this.classifier, saved);
      tf.dispose(saved);
      await this.optimizer.setWeights(optCopy);
      tf.dispose(optCopy.map((w) => w.tensor));
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    this.classWeights?.dispose();
  }

  private async buildCache(source: BatchSource, what: string): Promise<FeatureCache> {
    const t0 = Date.now();
    const cache = await FeatureCache.build(this.classifier, source);
    this.options.log?.(
      `${what} features of ${cache.size} images computed once for the frozen backbone (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return cache;
  }
}

function disposeBatch(b: LearnerBatch): void {
  tf.dispose([b.images, b.features, b.labels].filter((t) => t !== undefined) as tf.Tensor[]);
}
