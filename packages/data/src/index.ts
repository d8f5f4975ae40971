// @skingan/data: ISIC ground truth in, tensors and image files out.
export {
  type AugmentConfig,
  type AugmentParams,
  augmentImages,
  DEFAULT_AUGMENT,
  drawAugmentParams,
} from './batches/augment.js';
export { type BatchSourceOptions, createBatchSource, type ImageBatchSource } from './batches/batch-source.js';
export { epochOrder, type OrderOptions } from './batches/order.js';
export {
  formatLabelsCsv,
  LABEL_COLUMNS,
  type LabelRow,
  type LabelsCsv,
  parseLabelsCsv,
  type ReadLabelsOptions,
  readLabelsCsv,
  UNK,
  writeLabelsCsv,
} from './csv/labels-csv.js';
export {
  findLesionMetadata,
  LESION_COLUMN,
  LESION_METADATA_FILES,
  type LesionGrouping,
  type LesionMetadata,
  lesionGroups,
  readLesionMetadata,
} from './dataset/lesion-metadata.js';
export {
  countPerClass,
  type Dataset,
  type DatasetLayout,
  type DatasetRoot,
  IMAGE_EXTENSIONS,
  ISIC2019_GROUND_TRUTH,
  ISIC2019_INPUT_DIR,
  type LoadDatasetOptions,
  loadDataset,
} from './dataset/load-dataset.js';
export { loadSelection, type SelectionOptions } from './dataset/selection.js';
export {
  DEFAULT_FRACTIONS,
  foldFractions,
  type MakeSplitOptions,
  makeSplit,
  readSplit,
  SPLIT_PARTS,
  type Split,
  type SplitFold,
  type SplitFractions,
  type SplitGroups,
  type SplitPart,
  selectSplit,
  writeSplit,
} from './dataset/split.js';
export { DEMO_KIND, type DemoSetOptions, type DemoSetResult, generateDemoSet } from './demo/demo-set.js';
export {
  type DownloadFileOptions,
  type DownloadFileResult,
  downloadFile,
  hashFile,
} from './download/http-download.js';
export {
  type DownloadIsic2019Options,
  type DownloadIsic2019Result,
  type DownloadProgress,
  downloadIsic2019,
  ISIC2019_BASE_URL,
  ISIC2019_FILES,
  ISIC2019_TRAINING_COUNTS,
  type RemoteFile,
} from './download/isic2019.js';
export { type ExtractZipOptions, extractZip } from './download/unzip.js';
export {
  type DatasetFingerprint,
  FileHashCache,
  type FingerprintOptions,
  fingerprintDataset,
  fingerprintSamples,
} from './fingerprint/dataset-fingerprint.js';
export { checkId, isValidId } from './ids.js';
export { type CheckImagesOptions, checkImages } from './image/check-images.js';
export {
  bytesToFloat,
  type DecodeNotes,
  decodeImage,
  decodeImageBytes,
  decodeReason,
  type LoadImagesOptions,
  loadImages,
} from './image/decode.js';
export {
  floatToBytes,
  type RgbImage,
  rgbToJpeg,
  rgbToPng,
  tensorToJpeg,
  tensorToPng,
  tensorToRgb,
  writeImage,
} from './image/encode.js';
export { type GridOptions, gridImage, writeGrid } from './image/grid.js';
export {
  type PrepareOptions,
  type PrepareProgress,
  type PrepareResult,
  prepareDataset,
} from './prepare/prepare.js';
export { formatProblem, type Problem, transparencyProblem } from './problems.js';
export { type SubsetOptions, type SubsetResult, subsetDataset } from './subset/subset-dataset.js';
export {
  type AugmentViewsOptions,
  type AugmentViewsResult,
  augmentViews,
  viewId,
} from './views/augment-views.js';
export { DatasetWriter, type DatasetWriterOptions } from './writer/dataset-writer.js';
