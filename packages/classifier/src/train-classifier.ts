import {
  type BatchSource,
  type LabelSpace,
  type RunFolder,
  SkinganError,
  type TrainingObserver,
} from '@skingan/core';
import { createPretrainedClassifier, createResNetClassifier, type ImageClassifier } from './classifier.js';
import type { ClassifierConfig } from './config.js';
import { Learner, type LearnerResult } from './train/learner.js';
import { balancedClassWeights } from './train/loss.js';
import type { LrFinderOptions, LrFinderResult } from './train/lr-find.js';
import { type FitPhase, fineTunePhases, oneCyclePhase } from './train/phases.js';

/** A fresh classifier as the config describes it (pretrained backbone or from scratch, new head). */
export async function buildClassifier(
  config: ClassifierConfig,
  labelSpace: LabelSpace,
): Promise<ImageClassifier> {
  const options = {
    labelSpace,
    inputSize: config.imageSize,
    headDropout: config.headDropout,
    seed: config.seed,
  };
  return config.pretrained
    ? createPretrainedClassifier(config.pretrained, options)
    : createResNetClassifier(config.arch, options);
}

/**
 * The schedule as fastai would run it: `fine_tune(epochs, lr, freeze_epochs)` for pretrained
 * weights, `fit_one_cycle(epochs, lr)` from scratch; pctStart/div override fastai's defaults.
 */
export function planPhases(config: ClassifierConfig): FitPhase[] {
  const common = { divFinal: config.divFinal, moms: config.moms };
  if (config.pretrained) {
    return fineTunePhases(config.epochs, {
      ...common,
      baseLr: config.lr,
      freezeEpochs: config.freezeEpochs,
      lrMult: config.lrMult,
      pctStart: config.pctStart ?? undefined,
      div: config.div ?? undefined,
    });
  }
  if (config.freezeEpochs > 0) {
    throw new SkinganError(
      '--freeze-epochs needs pretrained weights: a network trained from scratch has nothing to freeze',
      {
        code: 'USAGE',
        hint: 'add --pretrained imagenet (or a model folder), or drop --freeze-epochs',
      },
    );
  }
  return [
    oneCyclePhase(config.epochs, config.lr, {
      ...common,
      pctStart: config.pctStart ?? undefined,
      div: config.div ?? undefined,
    }),
  ];
}

export interface TrainClassifierOptions {
  config: ClassifierConfig;
  labelSpace: LabelSpace;
  train: BatchSource;
  val?: BatchSource;
  /** The training labels, for `balance: 'weights'`. */
  trainLabels?: readonly number[];
  run?: RunFolder;
  resume?: boolean;
  observer?: TrainingObserver;
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Builds the classifier and trains it as the config says; the classifier ends with its best weights. */
export async function trainClassifier(
  o: TrainClassifierOptions,
): Promise<{ classifier: ImageClassifier; result: LearnerResult; phases: FitPhase[] }> {
  const phases = planPhases(o.config);
  const classifier = await buildClassifier(o.config, o.labelSpace);
  let classWeights: number[] | undefined;
  if (o.config.balance === 'weights') {
    if (!o.trainLabels)
      throw new SkinganError("balance 'weights' needs the training labels", { code: 'INTERNAL' });
    classWeights = balancedClassWeights(o.trainLabels, o.labelSpace.classes.length);
  }
  const learner = new Learner(classifier, {
    train: o.train,
    val: o.val,
    augmented: o.config.augment,
    wd: o.config.wd,
    classWeights,
    seed: o.config.seed,
    patience: o.config.patience,
    observer: o.observer,
    run: o.run,
    log: o.log,
    signal: o.signal,
  });
  try {
    const result = await learner.fit(phases, { resume: o.resume });
    return { classifier, result, phases };
  } catch (e) {
    classifier.dispose();
    throw e;
  } finally {
    learner.dispose();
  }
}

/**
 * fastai's `lr_find` on the learner the config would train: frozen (head only) for pretrained
 * weights with freeze epochs, as a fresh fastai vision learner is; the whole network otherwise.
 */
export async function findLearningRate(
  o: {
    config: ClassifierConfig;
    labelSpace: LabelSpace;
    train: BatchSource;
    log?: (line: string) => void;
    onStep?: (i: number, lr: number, loss: number) => void;
  } & LrFinderOptions,
): Promise<LrFinderResult & { frozen: boolean }> {
  const classifier = await buildClassifier(o.config, o.labelSpace);
  const frozen = Boolean(o.config.pretrained) && o.config.freezeEpochs > 0;
  const learner = new Learner(classifier, {
    train: o.train,
    augmented: o.config.augment,
    wd: o.config.wd,
    seed: o.config.seed,
    log: o.log,
  });
  try {
    const r = await learner.lrFind({
      startLr: o.startLr,
      endLr: o.endLr,
      numIt: o.numIt,
      stopDiv: o.stopDiv,
      frozen,
      onStep: o.onStep,
    });
    return { ...r, frozen };
  } finally {
    learner.dispose();
    classifier.dispose();
  }
}
