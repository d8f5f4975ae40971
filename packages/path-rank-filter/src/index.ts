export { type PathRankFilterOptions, type PathRankFilterResult, pathRankFilter } from './path-rank-filter.js';
export { type ScoredItem, type ScoreOptions, scoreImages } from './rank.js';
export { keepCount, type Ranked, rankAndSelect, type Scored, type Selection } from './select.js';
export {
  checkKeptDatasetOut,
  type KeptDatasetOptions,
  rankingCsv,
  writeKeptDataset,
  writeRankingCsv,
} from './write.js';
