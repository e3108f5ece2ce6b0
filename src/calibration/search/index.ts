export * from "./types.ts";
export { gridSearch, gridAxis, type GridSearchOptions } from "./grid.ts";
export { fastSearch, FAST_DEFAULT_BUDGET, FAST_MIN_BUDGET, type FastSearchOptions } from "./fast.ts";
export { CandidateLog, pointKey } from "./candidate-log.ts";
