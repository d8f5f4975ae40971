import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import {
  AdamW,
  type BatchSource,
  DivergedError,
  DivergenceGuard,
  type DivergenceGuardState,
  lastGoodCheckpoint,
  learningRateHint,
  pathExists,
  Rng,
  type RngState,
  type RunFolder,
  SkinganError,
  type TrainingObserver,
} from '@skingan/core';
import { type ClassificationReport, classificationReport } from '@skingan/metrics';
import * as tf from '@tensorflow/tfjs';
import { ImageClassifier } from '../classifier.js';
import { FASTAI_ADAM, fastaiParamGroups } from './adam.js';
import { FeatureCache } from './feature-cache.js';
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

export interface FitResult {
  /** Epochs trained in total (all phases, including those of a resumed attempt). */
  epochs: number;
  steps: number;
  /** A phase ended early because validation stopped improving. */
  stoppedEarly: boolean;
  /** Stopped by the abort signal: no final model was written; resume from the last checkpoint. */
  interrupted: boolean;
  /** The epoch whose weights the classifier holds at the end (best by validation balanced accuracy). */
  best: EpochRecord | null;
  history: EpochRecord[];
}

interface TrainState {
  [key: string]: unknown;
  /** Global epochs trained. */
  epochsDone: number;
  /** The global epoch to train next (after an early stop: the next phase's first). */
  nextEpoch: number;
  step: number;
  best: EpochRecord | null;
  badEpochs: number;
  stoppedEarly: boolean;
  history: EpochRecord[];
  rng: RngState;
  /** The divergence guard's recent losses (absent in checkpoints of older versions). */
  guard?: DivergenceGuardState;
}

const BEST_DIR = 'best';
/** In `best/`: which epoch's weights it holds, checked on resume against the checkpoint's record. */
const BEST_EPOCH_FILE = 'best-epoch.json';
const MODEL_DIR = 'model';

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
  ): Promise<FitResult> {
    return this.fit([oneCyclePhase(epochs, lr, o)], { resume: o.resume });
  }

  /** fastai `fine_tune`. */
  fineTune(epochs: number, o: FineTuneOptions & { resume?: boolean } = {}): Promise<FitResult> {
    return this.fit(fineTunePhases(epochs, o), { resume: o.resume });
  }

  /**
   * Runs phases in order (a global epoch count spans them). With `resume` and a run folder that
   * has a checkpoint, continues after its last completed epoch with the same schedule position,
   * optimizer state, dropout stream and best model.
   */
  async fit(phases: readonly FitPhase[], { resume = false }: { resume?: boolean } = {}): Promise<FitResult> {
    const { run, observer } = this.options;
    const state: TrainState = {
      epochsDone: 0,
      nextEpoch: 0,
      step: 0,
      best: null,
      badEpochs: 0,
      stoppedEarly: false,
      history: [],
      rng: this.dropoutRng.state,
    };
    let best: tf.Tensor[] | null = null;
    const guard = new DivergenceGuard();
    const latest = resume && run ? await run.checkpoints.latest() : undefined;
    const totalEpochs = phases.reduce((n, p) => n + p.epochs, 0);
    if (latest && run) {
      const restored = await run.checkpoints.restore<TrainState>(latest, {
        models: { backbone: this.classifier.backbone, head: this.classifier.head },
        optimizers: { adam: this.optimizer },
      });
      Object.assign(state, restored.state);
      this.dropoutRng.state = state.rng;
      guard.setState(state.guard);
      if (state.best) best = await this.readBest(run.dir, state.best, restored.epoch);
      this.options.log?.(
        state.nextEpoch >= totalEpochs
          ? `the run has trained all ${totalEpochs} epochs already: nothing to resume`
          : `resuming at epoch ${state.nextEpoch + 1} (step ${state.step})`,
      );
    }
    let trained = false;
    const signal = this.options.signal;
    let phaseStart = 0;
    try {
      for (const [phaseIndex, phase] of phases.entries()) {
        const phaseEnd = phaseStart + phase.epochs;
        if (state.nextEpoch >= phaseEnd) {
          phaseStart = phaseEnd;
          continue;
        }
        if (state.nextEpoch <= phaseStart) state.badEpochs = 0;
        const useCache = phase.frozen && !this.options.augmented;
        const trainCache = useCache ? await this.buildCache(this.options.train, 'train') : undefined;
        const valCache =
          phase.frozen && this.options.val
            ? await this.buildCache(this.options.val, 'validation')
            : undefined;
        try {
          const batchSize = this.options.train.batchSize;
          const stepsPerEpoch = trainCache
            ? trainCache.stepsPerEpoch(batchSize)
            : this.options.train.stepsPerEpoch;
          const totalSteps = stepsPerEpoch * phase.epochs;
          const sched = oneCycle(phase);
          let earlyStop = false;
          for (
            let epoch = Math.max(state.nextEpoch, phaseStart);
            epoch < phaseEnd && !earlyStop && !signal?.aborted;
            epoch++
          ) {
            const t0 = Date.now();
            const epochInPhase = epoch - phaseStart;
            let lossSum = 0;
            let steps = 0;
            const stepAt = async (loss: number, lr: number[], mom: number) => {
              lossSum += loss;
              state.step += 1;
              const divergence = guard.check(state.step, { loss });
              if (divergence) {
                const good = await lastGoodCheckpoint(run?.checkpoints, divergence);
                throw new DivergedError('classifier training', divergence, {
                  ...good,
                  hint: learningRateHint('--lr'),
                });
              }
              await observer?.onStep?.({
                kind: 'step',
                step: state.step,
                epoch,
                stepInEpoch: steps,
                stepsPerEpoch,
                losses: { loss },
                metrics: { lr: lr[lr.length - 1]!, mom },
                elapsedMs: Date.now() - t0,
              });
            };
            const hypersAt = () => {
              const pos = Math.min(1, (epochInPhase * stepsPerEpoch + steps) / totalSteps);
              return { lr: sched.lr(pos), mom: sched.mom(pos) };
            };
            if (trainCache) {
              for (const b of trainCache.batches(epoch, batchSize, this.seed)) {
                const h = hypersAt();
                const loss = this.step({ features: b.features, labels: b.labels }, true, h.lr, h.mom);
                tf.dispose([b.features, b.labels]);
                await stepAt(loss, h.lr, h.mom);
                steps++;
                if (signal?.aborted) break;
              }
            } else {
              for await (const batch of this.options.train.epoch(epoch)) {
                const h = hypersAt();
                let loss: number;
                try {
                  loss = this.step({ images: batch.images, labels: batch.labels }, phase.frozen, h.lr, h.mom);
                } finally {
                  tf.dispose([batch.images, batch.labels]);
                }
                await stepAt(loss, h.lr, h.mom);
                steps++;
                if (signal?.aborted) break;
              }
            }
            if (signal?.aborted) break;
            trained = true;
            const record: EpochRecord = {
              epoch,
              phase: phaseIndex,
              frozen: phase.frozen,
              steps,
              trainLoss: steps ? lossSum / steps : 0,
              ms: 0,
            };
            let newBest = false;
            if (this.options.val) {
              const v = await this.validate(valCache);
              record.valLoss = v.loss;
              record.valAccuracy = v.report.accuracy;
              record.valBalancedAccuracy = v.report.balancedAccuracy;
              if (!state.best || v.report.balancedAccuracy > (state.best.valBalancedAccuracy ?? -1)) {
                state.best = record;
                state.badEpochs = 0;
                tf.dispose(best ?? []);
                best = this.snapshot();
                newBest = true;
              } else {
                state.badEpochs += 1;
                const patience = this.options.patience;
                if (patience !== null && patience !== undefined && state.badEpochs >= patience)
                  earlyStop = true;
              }
            }
            record.ms = Date.now() - t0;
            state.history.push(record);
            state.epochsDone += 1;
            state.nextEpoch = earlyStop ? phaseEnd : epoch + 1;
            if (earlyStop) state.stoppedEarly = true;
            await observer?.onEpoch?.({
              kind: 'epoch',
              epoch,
              epochs: totalEpochs,
              step: state.step,
              losses: {
                loss: record.trainLoss,
                ...(record.valLoss !== undefined ? { valLoss: record.valLoss } : {}),
              },
              metrics: {
                ...(record.valAccuracy !== undefined ? { valAccuracy: record.valAccuracy } : {}),
                ...(record.valBalancedAccuracy !== undefined
                  ? { valBalancedAccuracy: record.valBalancedAccuracy }
                  : {}),
              },
              elapsedMs: record.ms,
            });
            if (run) {
              state.rng = this.dropoutRng.state;
              state.guard = guard.getState();
              const ref = await run.checkpoints.save<TrainState>({
                step: state.step,
                epoch,
                models: { backbone: this.classifier.backbone, head: this.classifier.head },
                optimizers: { adam: this.optimizer },
                state,
              });
              // best/ after the checkpoint that names it: a crash between leaves a checkpoint whose
              // own weights are the best, which a resume takes (see readBest).
              if (newBest) await this.saveBest(run.dir, epoch);
              await observer?.onCheckpoint?.({ kind: 'checkpoint', step: state.step, epoch, path: ref.dir });
            }
          }
          if (earlyStop)
            this.options.log?.(
              `phase ${phaseIndex + 1}: no better validation balanced accuracy for ${this.options.patience} epochs, stopping it`,
            );
        } finally {
          trainCache?.dispose();
          valCache?.dispose();
        }
        phaseStart = phaseEnd;
        if (signal?.aborted) break;
      }
      if (signal?.aborted) {
        return {
          epochs: state.epochsDone,
          steps: state.step,
          stoppedEarly: state.stoppedEarly,
          interrupted: true,
          best: state.best,
          history: state.history,
        };
      }
      if (best) this.restore(best);
      // A resume of a finished run trains nothing and leaves its model/ as it is.
      if (run && (trained || !(await pathExists(join(run.dir, MODEL_DIR))))) {
        await this.classifier.save(join(run.dir, MODEL_DIR));
        await fs.rm(join(run.dir, BEST_DIR), { recursive: true, force: true });
      }
    } finally {
      tf.dispose(best ?? []);
    }
    return {
      epochs: state.epochsDone,
      steps: state.step,
      stoppedEarly: state.stoppedEarly,
      interrupted: false,
      best: state.best,
      history: state.history,
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
        throw new SkinganError(
          `${lr.length} learning rates for ${this.optimizer.groups.length} layer groups`,
          {
            code: 'INTERNAL',
          },
        );
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
    const saved = this.snapshot();
    const savedOpt = await this.optimizer.getWeights();
    const optCopy = savedOpt.map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) }));
    const cache =
      frozen && !this.options.augmented ? await this.buildCache(this.options.train, 'train') : undefined;
    const mom = FASTAI_ADAM.mom;
    const groups = this.optimizer.groups.length;
    try {
      let epoch = 0;
      let pending:
        | AsyncIterator<{ features?: tf.Tensor2D; images?: tf.Tensor4D; labels: tf.Tensor1D }>
        | undefined;
      const next = async () => {
        for (;;) {
          pending ??= cache
            ? toAsync(cache.batches(epoch, this.options.train.batchSize, this.seed))
            : imagesOf(this.options.train.epoch(epoch));
          const r = await pending.next();
          if (!r.done) return r.value;
          pending = undefined;
          epoch++;
        }
      };
      return await lrFinderLoop(async (lr, i) => {
        const b = await next();
        let loss: number;
        try {
          loss = this.step(b, frozen, new Array(groups).fill(lr), mom);
        } finally {
          tf.dispose([b.images, b.features, b.labels].filter((t) => t !== undefined) as tf.Tensor[]);
        }
        options.onStep?.(i, lr, loss);
        return loss;
      }, options);
    } finally {
      cache?.dispose();
      this.restore(saved);
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

  /** Copies of every weight (BatchNorm statistics included). */
  private snapshot(): tf.Tensor[] {
    return [...this.classifier.backbone.getWeights(), ...this.classifier.head.getWeights()].map((t) =>
      tf.clone(t),
    );
  }

  private restore(weights: tf.Tensor[]): void {
    const n = this.classifier.backbone.getWeights().length;
    this.classifier.backbone.setWeights(weights.slice(0, n));
    this.classifier.head.setWeights(weights.slice(n));
  }

  /** Writes the current weights as `best/`, with the epoch they are from inside the same folder. */
  private async saveBest(runDir: string, epoch: number): Promise<void> {
    await this.classifier.save(join(runDir, BEST_DIR), { [BEST_EPOCH_FILE]: { epoch } });
  }

  /**
   * The weights of the best epoch so far, for a resume: from `best/`, or from `model/` once the
   * run has finished (it then holds the best weights and `best/` is gone). Missing or damaged, it
   * fails: resuming without it would end with other weights than the result names.
   */
  private async readBest(runDir: string, record: EpochRecord, checkpointEpoch: number): Promise<tf.Tensor[]> {
    const bestDir = join(runDir, BEST_DIR);
    if (record.epoch === checkpointEpoch && !(await pathExists(join(runDir, MODEL_DIR)))) {
      // The checkpoint resumed from is the best epoch's own: its weights are the best ones. best/
      // may lag behind it (a crash right after the checkpoint): bring it up to date.
      await this.saveBest(runDir, record.epoch);
      return this.snapshot();
    }
    const modelDir = join(runDir, MODEL_DIR);
    const dir = (await pathExists(bestDir)) ? bestDir : (await pathExists(modelDir)) ? modelDir : undefined;
    const what = `the best model (epoch ${record.epoch + 1})`;
    if (!dir) {
      throw new SkinganError(`${what} is missing: neither best/ nor model/ is in the run`, {
        code: 'BAD_CHECKPOINT',
        file: runDir,
        hint: 'start the run again in a new folder (without --resume)',
      });
    }
    if (dir === bestDir) {
      // A best/ of another epoch than the checkpoint names (a checkpoint set aside after a
      // divergence, or a damaged run): resuming would end with other weights than the result names.
      const saved = await fs
        .readFile(join(bestDir, BEST_EPOCH_FILE), 'utf8')
        .then((t) => (JSON.parse(t) as { epoch: number }).epoch)
        .catch(() => undefined);
      if (saved !== undefined && saved !== record.epoch) {
        throw new SkinganError(
          `best/ holds epoch ${saved + 1}'s weights, but the checkpoint resumed from names epoch ${record.epoch + 1} as the best`,
          {
            code: 'BAD_CHECKPOINT',
            file: bestDir,
            hint: 'start the run again in a new folder (without --resume)',
          },
        );
      }
    }
    let c: ImageClassifier;
    try {
      c = await ImageClassifier.load(dir);
    } catch (e) {
      throw new SkinganError(`${what} cannot be read: ${e instanceof Error ? e.message : String(e)}`, {
        code: 'BAD_CHECKPOINT',
        file: dir,
        hint: 'start the run again in a new folder (without --resume)',
        cause: e,
      });
    }
    try {
      const w = [...c.backbone.getWeights(), ...c.head.getWeights()];
      const own = [...this.classifier.backbone.getWeights(), ...this.classifier.head.getWeights()];
      const same = w.length === own.length && w.every((t, i) => t.shape.join() === own[i]!.shape.join());
      if (!same) {
        throw new SkinganError(`${what} is another network than this run's`, {
          code: 'BAD_CHECKPOINT',
          file: dir,
          hint: 'start the run again in a new folder (without --resume)',
        });
      }
      return w.map((t) => tf.clone(t));
    } finally {
      c.dispose();
    }
  }
}

async function* imagesOf(batches: AsyncIterable<{ images: tf.Tensor4D; labels: tf.Tensor1D }>) {
  for await (const b of batches) yield { images: b.images, labels: b.labels };
}

function toAsync<T>(it: Iterator<T>): AsyncIterator<T> {
  return { next: async () => it.next() };
}
