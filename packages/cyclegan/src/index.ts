export {
  CYCLEGAN_PRESETS,
  type CycleGanConfig,
  type CycleGanConfigInput,
  CycleGanConfigSchema,
  type CycleGanPresetName,
  PRESET_NAMES,
  parseCycleGanConfig,
  resolveConfig,
} from './config.js';
export {
  InstanceNormalization,
  type InstanceNormalizationArgs,
  instanceNorm,
  instanceNormalization,
} from './layers/instance-normalization.js';
export {
  convTransposeOutSize,
  PaddedConv2D,
  PaddedConv2DTranspose,
  type PaddedConv2DTransposeArgs,
  type PaddedConvArgs,
  PaddedUpConv2D,
  type PaddedUpConvArgs,
  paddedConv2d,
  paddedConv2dTranspose,
} from './layers/padded-conv.js';
export {
  ReflectionPadding2D,
  type ReflectionPadding2DArgs,
  reflectionPadding2d,
  reflectPad,
} from './layers/reflection-padding.js';
export { CYCLEGAN_LAYERS, registerCycleganLayers } from './layers/register.js';
export {
  type CycleGanNets,
  createCycleGanNets,
  disposeNets,
  initNets,
  NET_NAMES,
  type NetsConfig,
} from './networks/cyclegan-nets.js';
export { initNormal } from './networks/init.js';
export { applyEager } from './networks/layer-plan.js';
export { createPatchDiscriminator, type PatchDiscriminatorConfig } from './networks/patch-discriminator.js';
export {
  createResnetGenerator,
  GENERATOR_UPSAMPLES,
  type GeneratorUpsample,
  type ResnetGeneratorConfig,
} from './networks/resnet-generator.js';
export { centerCrop, randomCropFlip } from './training/augment.js';
export { type CycleGanStepLosses, LOSS_NAMES } from './training/cycle-step.js';
export { ImagePool } from './training/image-pool.js';
export { lrFactor } from './training/lr-schedule.js';
export {
  estimateTrainingMemory,
  type MemoryEstimate,
  passMemory,
  WASM_HEAP_LIMIT,
} from './training/memory.js';
export { type CycleGanSampleGrid, type SampleImages, sampleGrids } from './training/samples.js';
export {
  CycleGanTrainer,
  type TrainerOptions,
  type TrainOptions,
} from './training/trainer.js';
export { CycleGanTranslator, type Direction, loadTranslator, readRunConfig } from './translator.js';
