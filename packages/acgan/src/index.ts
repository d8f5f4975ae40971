export {
  type AcganConfig,
  type AcganConfigInput,
  type AcganConfigOverrides,
  AcganConfigSchema,
  CPU_REFERENCE as ACGAN_CPU_REFERENCE,
  DIFF_AUGMENT_POLICIES,
  type DiffAugmentPolicy,
  type DiscriminatorConfig,
  DiscriminatorConfigSchema,
  type GeneratorConfig,
  GeneratorConfigSchema,
  PRESETS as ACGAN_PRESETS,
  type PresetName as AcganPresetName,
  parseAcganConfig,
  type ResolveOptions,
  resolveAcganConfig,
  type TrainingConfig,
  TrainingConfigSchema,
} from './config.js';
export { BatchNorm, type BatchNormArgs } from './layers/batch-norm.js';
export { Conv2D, type Conv2DArgs } from './layers/conv2d.js';
export { Dense, type DenseArgs } from './layers/dense.js';
export { NearestUpConv2D, type NearestUpConv2DArgs } from './layers/nearest-up-conv.js';
export { registerAcganLayers } from './layers/register.js';
export { attachDropoutRng, SeededDropout, type SeededDropoutArgs } from './layers/seeded-dropout.js';
export { type PowerIterated, powerIterateAll, SpectralNorm } from './layers/spectral-norm.js';
export { buildDiscriminator, type ConvSpec, discriminatorConvs } from './models/discriminator.js';
export { buildGenerator, generatorChannels } from './models/generator.js';
export {
  AcganGenerator,
  FINAL_GENERATOR_DIR,
  FINAL_GENERATOR_EMA_DIR,
  FINAL_INFO_FILE,
  type LoadAcganGeneratorOptions,
  loadAcganGenerator,
} from './sampling/acgan-generator.js';
export { generateImages, imageNoise, sampleGridLabels } from './sampling/generate.js';
export {
  resizeImages,
  type SampleRecord,
  type SampleToDatasetOptions,
  sampleToDataset,
} from './sampling/sample-dataset.js';
export { cutoutSize, diffAugment, maxShift } from './training/diff-augment.js';
export {
  DivergenceMonitor,
  type DivergenceOptions,
  divergenceHint,
  StallCallback,
} from './training/divergence.js';
export { emaDecayAt, WeightAverage } from './training/ema.js';
export {
  type AdversarialLoss,
  adversarialLoss,
  bceWithLogits,
  classAccuracy,
  hingeLoss,
  modeSeekingLoss,
  signAccuracy,
  softmaxCrossEntropy,
} from './training/losses.js';
export {
  acganStep,
  type StepLosses as AcganStepLosses,
  type StepMetrics,
  type StepResult,
} from './training/step.js';
export { type TrainAcganOptions, trainAcgan } from './training/train-acgan.js';
export {
  AcganTrainer,
  type AcganTrainerOptions,
  type SampleGrid as AcganSampleGrid,
} from './training/trainer.js';
