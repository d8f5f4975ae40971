// @skingan/turing: the expert's test — can dermatologists tell real lesion images from synthetic ones?
export {
  type Agreement,
  analyzeAnswers,
  type GroupStats,
  groupStats,
  type TuringAnalysis,
} from './analysis.js';
export {
  blindCopy,
  type CreateStudyOptions,
  type CreateStudyResult,
  createStudy,
  type SyntheticSource,
} from './create.js';
export { type Invitation, inviteRater } from './invite.js';
export { analysisToJson, answersCsv, formatP, type ReportTable, turingTables } from './report.js';
export { type RunningServer, type ServeOptions, serveStudy } from './serve.js';
export { type AppOptions, buildApp } from './server/app.js';
export { fleissKappa } from './stats/fleiss.js';
export { binomialTestHalf, type Proportion, wilson } from './stats/proportions.js';
export { syntheticScore } from './stats/rating-scale.js';
export { MIGRATIONS, SCHEMA_VERSION } from './store/migrations.js';
export {
  type AnswerInput,
  type AnswerOutcome,
  type AnswerRecord,
  DB_FILE,
  IMAGES_DIR,
  type Progress,
  type Rater,
  type Source,
  type StudyImage,
  type StudyInfo,
  StudyStore,
  type Verdict,
} from './store/store.js';
export { hashToken, newToken } from './tokens.js';
