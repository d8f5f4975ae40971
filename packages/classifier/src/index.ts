export {
  buildHead,
  buildResNetBackbone,
  countTrainableParams,
  RESNET_ARCH_NAMES,
  RESNET_ARCHS,
  type ResNetArch,
  type ResNetConfig,
  resnetConfig,
} from './architectures/resnet.js';
export {
  type ClassifierOptions,
  type ClassifierSpec,
  createPretrainedClassifier,
  createResNetClassifier,
  findClassifierDir,
  ImageClassifier,
  type PretrainedClassifierOptions,
} from './classifier.js';
export {
  CLASSIFIER_PRESETS,
  type ClassifierConfig,
  ClassifierConfigSchema,
  type ClassifierPreset,
  resolveClassifierConfig,
} from './config.js';
export {
  type PredictionTable,
  predictBatches,
  probabilitiesCsv,
  writeProbabilitiesCsv,
} from './eval/predict.js';
export {
  type FeatureRows,
  LinearHead,
  type LinearHeadOptions,
  type LinearHeadResult,
  trainLinearHead,
} from './head/linear-head.js';
export {
  PREPROCESSINGS,
  type Preprocessing,
  preprocess,
} from './preprocess.js';
export { type LoadLayersModelOptions, loadLayersModelDir } from './pretrained/layers-model.js';
export { loadPretrainedNetwork, type PretrainedNetwork } from './pretrained/network.js';
export {
  type FetchOptions,
  type FetchResult,
  fetchPackageFolder,
  fetchPretrained,
  PRETRAINED,
  type PretrainedSource,
  pretrainedName,
  type ResolvedPretrained,
  resolvePretrained,
  verifyWeightsCache,
} from './pretrained/weights-cache.js';
export { FASTAI_ADAM, fastaiParamGroups } from './train/adam.js';
export { FeatureCache, type LearnerBatch, PhaseFeatures } from './train/feature-cache.js';
export { type EpochRecord, Learner, type LearnerOptions, type LearnerResult } from './train/learner.js';
export { balancedClassWeights, crossEntropy } from './train/loss.js';
export {
  LR_FINDER_DEFAULTS,
  type LrFinderOptions,
  type LrFinderResult,
  type LrSuggestions,
  lrFinderLoop,
  minimum,
  steep,
  suggestLr,
  valley,
} from './train/lr-find.js';
export { lrFinderSvg, writeLrFinderReport } from './train/lr-find-report.js';
export {
  FINE_TUNE_DEFAULTS,
  type FineTuneOptions,
  type FitPhase,
  fineTunePhases,
  LAYER_GROUPS,
  type OneCyclePhaseOptions,
  oneCyclePhase,
} from './train/phases.js';
export {
  combinedCos,
  combineScheds,
  evenMults,
  ONE_CYCLE_DEFAULTS,
  type OneCycleOptions,
  oneCycle,
  type Schedule,
  schedCos,
  schedExp,
  sliceLrs,
} from './train/schedule.js';
export {
  buildClassifier,
  findLearningRate,
  planPhases,
  type TrainClassifierOptions,
  trainClassifier,
} from './train-classifier.js';
