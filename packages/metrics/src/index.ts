export { type ProbabilityTable, predictedClasses } from './classification/inputs.js';
export { type PredictionsTable, parsePredictionsCsv } from './classification/predictions-csv.js';
export {
  type ClassificationReport,
  type ClassMetrics,
  classificationReport,
  classificationReportFromPredictions,
  confusionMatrix,
  type ReportOptions,
  reportFromConfusion,
} from './classification/report.js';
export { rocAuc } from './classification/roc-auc.js';
export {
  type DisposableFeatureExtractor,
  type LayerExtractorOptions,
  layerFeatureExtractor,
} from './extractors/layer-extractor.js';
export {
  type ExtractorSpec,
  loadFeatureExtractor,
  loadLayerFeatureExtractor,
  loadResnet50Extractor,
  RESNET50_WEIGHTS,
  resnet50WeightsDir,
} from './extractors/load-extractor.js';
export {
  CAFFE_BGR_MEANS,
  caffePreprocess,
  identityPreprocess,
  PREPROCESS_PRESETS,
  type Preprocess,
  unitPreprocess,
} from './extractors/preprocess.js';
export { type TestExtractorOptions, testFeatureExtractor } from './extractors/test-extractor.js';
export {
  FeatureStore,
  type FeatureStoreIdentity,
  type FeatureStoreOptions,
} from './features/feature-store.js';
export {
  type ClassDiversity,
  type DiversityResult,
  meanPairwiseDistance,
  withinClassDiversity,
} from './gan/diversity.js';
export {
  type ExtractOptions,
  extractFeatures,
  type ImageSource,
  predictProbabilities,
} from './gan/extract.js';
export {
  concatRows,
  type FeatureInput,
  type FeatureMatrix,
  selectRows,
  toFeatureMatrix,
  toRows,
} from './gan/feature-matrix.js';
export { type FidResult, featureStatistics, fid, frechetDistance, type GaussianStats } from './gan/fid.js';
export {
  assignedClasses,
  type ClassFidelity,
  type ClassifiedSet,
  classFidelity,
  type FidelityResult,
} from './gan/fidelity.js';
export {
  type KidOptions,
  type KidResult,
  type KidSubset,
  kid,
  kidFromSubsets,
  polynomialMmd2,
} from './gan/kid.js';
export { type PerClassOptions, type PerClassValue, perClass } from './gan/per-class.js';
export { type PrdcOptions, type PrdcResult, prdc } from './gan/prdc.js';
export { type GanQuality, type GanQualityOptions, ganQuality, type QualitySet } from './gan/quality.js';
export {
  type GenerateForClass,
  type ProbeEvaluation,
  QualityProbe,
  type QualityProbeOptions,
  qualityRecord,
  qualityWarnings,
} from './gan/quality-probe.js';
export { classificationTable, confusionMarkdown } from './report/classification-table.js';
export { escapeHtml } from './report/escape-html.js';
export { extractorNote, type GanMetricsEntry, ganMetricsTable, ganQualityTable } from './report/gan-table.js';
export { type LineChart, type LineChartSize, lineChartSvg } from './report/line-chart-svg.js';
export {
  type ClassifierSummary,
  type FoldRun,
  summarizeFolds,
  summarizeReport,
  summarizeSeeds,
} from './report/summary.js';
export {
  type Estimate,
  formatEstimate,
  type MetricsTable,
  type RenderOptions,
  renderCsv,
  renderMarkdown,
  type TableColumn,
  type TableRow,
  tableToJson,
} from './report/table.js';
export { type GeneratedCountEntry, type TrainingSetRow, table62, table72 } from './report/thesis-tables.js';
export {
  type BootstrapOptions,
  bootstrap,
  bootstrapCI,
  type ConfidenceInterval,
  percentileInterval,
} from './stats/bootstrap.js';
export { type ClassificationIntervals, classificationIntervals } from './stats/classification-intervals.js';
export { type McNemarResult, mcnemarExact, mcnemarTest } from './stats/mcnemar.js';
export {
  type ClassifierComparison,
  compareClassifiers,
  type PairedDifference,
  pairedBootstrap,
} from './stats/paired.js';
export {
  aggregateSeeds,
  type PairedSeedDifference,
  pairedSeedDifference,
  type SeedAggregate,
  type WelchDifference,
  welchDifference,
} from './stats/seeds.js';
export { binomialHalfCdf, studentTQuantile } from './stats/special.js';
