/**
 * `qsched-gpu/scheduler`: diffusers-exact schedulers with Q-Sched coefficients and torch-exact seeded noise.
 * CPU only, no GPU imports (a GPU step kernel consumes `stepCoefficients()`).
 */
export { createScheduler, SCHEDULER_CLASS_NAMES, type AnyScheduler } from "./factory.ts";
export { LcmScheduler, type LcmConfig } from "./lcm.ts";
export { TcdScheduler, TCD_DEFAULT_ETA, type TcdConfig } from "./tcd.ts";
export { EulerDiscreteScheduler, type EulerConfig } from "./euler-discrete.ts";
export { EulerAncestralDiscreteScheduler, type EulerAncestralConfig } from "./euler-ancestral.ts";
export { FlowMatchEulerDiscreteScheduler, fluxPipelineSigmas, type FlowMatchConfig } from "./flow-match-euler.ts";
export { resolveQSched, validateQSchedSpec, type QSchedSpec, type QSchedCoefficients } from "./qsched.ts";
export { parseCoefficientFile, serializeCoefficientFile, type CoefficientFile } from "./coefficient-file.ts";
export { computeNoiseTables, computeBetas, type NoiseTables, type BetaScheduleConfig } from "./noise-schedule.ts";
export { torchLinspaceF32 } from "./torch-linspace.ts";
export { TorchGenerator, type TorchSeed } from "./rng/torch-generator.ts";
export { randnTensor } from "./rng/randn-tensor.ts";
export type {
  DiffusionScheduler, LinearWeights, SchedulerClassName, StepCoefficients, StepOptions, StepOutput,
} from "./types.ts";
