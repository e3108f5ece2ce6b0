export * from "./scores.ts";
export * from "./search/index.ts";
export { calibrate, type CalibrateOptions, type CalibrationProgress, type CalibrationResult, type CandidateGenerator, type LandscapePoint } from "./calibrate.ts";
export { JaqEvaluator, QUALITY_ANCHORS, type CandidateImage, type ImageScorer } from "./image-scorer.ts";
export { CalibrationJournal, JournalMismatchError, MemoryJournalStore, hashPrompts, type JournalEntry, type JournalKey, type JournalStore } from "./journal.ts";
export { DEFAULT_CALIBRATION_PROMPTS, defaultSeeds, parsePromptFile } from "./prompts.ts";
export { heatmapPng, renderHeatmap, rampColour, type HeatmapOptions, type HeatmapPoint } from "./heatmap.ts";
