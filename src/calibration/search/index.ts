export * from "./types.ts";
export { gridSearch, gridAxis, type GridSearchOptions } from "./grid.ts";
export { fastSearch, fastDefaultBudget, fastMinBudget, fastPlan, FAST_DEFAULT_BUDGET, FAST_MIN_BUDGET, FAST_TUNING, type FastSearchOptions, type FastTuning } from "./fast.ts";
export { CandidateLog, pointKey } from "./candidate-log.ts";
