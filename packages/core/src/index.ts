export {
  BACKENDS,
  type BackendCandidate,
  type BackendInfo,
  type BackendName,
  backendInfo,
  type InitBackendOptions,
  initBackend,
  machineInfo,
  parseBackendName,
} from './backend/init-backend.js';
export { cudaGpuVisible, loadNative, type NativePackage, type NativeProbe } from './backend/native.js';
export {
  describeConfigIssues,
  editDistance,
  nearestKey,
  parseConfig,
  readConfigFile,
  schemaKeysAt,
  unknownKeyMessage,
} from './config/config-issues.js';
export { deepMerge } from './config/deep-merge.js';
export { type EvalConfig, EvalConfigSchema } from './config/eval-config.js';
export { type ErrorCode, isSkinganError, SkinganError, type SkinganErrorOptions } from './errors.js';
export {
  type CheckpointEvent,
  combineObservers,
  type EpochEvent,
  type EvalEvent,
  type EvalPoint,
  type Evaluation,
  type StepEvent,
  type TrainingEvent,
  type TrainingObserver,
} from './events.js';
export type {
  Batch,
  BatchSource,
  ConditionalGenerator,
  FeatureExtractor,
  ImageTranslator,
  ProbabilisticClassifier,
  Sample,
} from './interfaces.js';
export {
  appendFileNow,
  diskFull,
  pathExists,
  recoverDir,
  removeStaleTemps,
  replaceDirAtomic,
  tempSibling,
  type WriteOptions,
  writeFileAtomic,
  writeJsonAtomic,
} from './io/atomic.js';
export { skinganCacheDir, weightsCacheDir } from './io/cache-dir.js';
export { crc32 } from './io/crc32.js';
export { isBlankRecord, parseCsvRecords } from './io/csv.js';
export {
  fileSystem,
  loadModel,
  type NamedTensor,
  readTensors,
  saveModel,
  writeTensors,
} from './io/file-handler.js';
export {
  checkAndClaimOutput,
  checkOutput,
  claimOutput,
  type OutputCheck,
  outputOwner,
  ownerRecordPath,
} from './io/output-guard.js';
export { type AdamStepFactors, adamStep } from './kernels/adam-step.js';
export { batchNormTraining } from './kernels/batch-norm-training.js';
export { gemmThreadsReady } from './kernels/gemm-conv.js';
export { COMPOSITE_KERNELS, registerTrainingKernels, type TrainingKernels } from './kernels/register.js';
export { classIndex, ISIC2019, ISIC2019_NAMES, type LabelSpace, subLabelSpace } from './labels.js';
export { addBias, withBias } from './layers/add-bias.js';
export { type LayerArgs, lastAxis, layerConfig, single, singleShape } from './layers/layer-io.js';
export { type Interpolation, upConv2d, upConvKernel, upConvTaps, upsample2x } from './layers/up-conv.js';
export {
  AdamW,
  type AdamWConfig,
  type AdamWGroup,
  adamWFactors,
  type ParamGroup,
} from './optim/adamw.js';
export { ADAMW_LAYOUT } from './optim/adamw-state.js';
export { countParams, type ParamCount } from './param-count.js';
export { isProcessAlive } from './process-alive.js';
export { Rng, type RngState } from './random.js';
export { checkRunOut, type RunOutState } from './run/check-out.js';
export {
  CHECKPOINT_FORMAT,
  type CheckpointContent,
  type CheckpointRef,
  CheckpointStore,
} from './run/checkpoint-store.js';
export {
  DivergedError,
  type Divergence,
  DivergenceGuard,
  type DivergenceGuardOptions,
  type DivergenceGuardState,
  type DivergenceRecord,
  divergenceOf,
  lastGoodCheckpoint,
  learningRateHint,
} from './run/divergence-guard.js';
export {
  type FolderLock,
  FolderLockedError,
  folderLockHolder,
  LOCK_FILE,
  type LockHolder,
  type LockOptions,
  lockFolder,
  processGone,
} from './run/folder-lock.js';
export {
  compareConfig,
  describeRunStatus,
  type OpenRunOptions,
  RunFolder,
  type RunJson,
  type RunStatus,
} from './run/run-folder.js';
export {
  type InternalCheck,
  type KerasBatchNormFields,
  type KerasConv2DFields,
  kerasBatchNormFields,
  kerasConv2DFields,
  selfCheck,
  TFJS_INTERNALS_VERSION,
} from './tfjs-internals.js';
export {
  type Callback,
  CancelFitError,
  type EpochSource,
  type FitResult,
  type LoopContext,
  type StepOutput,
  type TrainModel,
} from './train/callback.js';
export { CheckpointCallback, type CheckpointOptions } from './train/checkpoints.js';
export { DivergenceCallback, type DivergenceCallbackOptions, divergedError } from './train/divergence.js';
export { EarlyStopping, type EarlyStoppingOptions } from './train/early-stopping.js';
export { EvalCallback } from './train/evaluation.js';
export { type FitOptions, TrainingLoop } from './train/loop.js';
export type { MonitoredState, MonitorOptions } from './train/monitored.js';
export { metricsLog, observe } from './train/observe.js';
export { ParamSchedule, type SchedulePoint } from './train/param-schedule.js';
export { SampleCallback, type SampleOptions } from './train/samples.js';
export { SaveBest } from './train/save-best.js';
export { TrainingSnapshot } from './train/snapshot.js';
