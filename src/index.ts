/// <reference types="@webgpu/types" preserve="true" />
/**
 * qsched-gpu: few-step text-to-image diffusion on WebGPU with hand-written WGSL kernels,
 * int8/int4 weights and Q-Sched coefficients. This entry exports the pipeline, the device layer and ops;
 * the scheduler is also importable alone as `qsched-gpu/scheduler`.
 */
export { getDevice, createDevice, GpuContext, type GpuCapabilities, type DeviceOptions } from "./gpu/device.ts";
export { Gpu } from "./gpu/runtime.ts";
export { Tensor } from "./gpu/tensor.ts";
export type { DType } from "./gpu/dtype.ts";
export type { KernelTime } from "./gpu/profiler.ts";
export { GpuDeviceError, ShaderCompileError, BindingMismatchError, OpInputError, GpuLimitError } from "./gpu/errors.ts";
export * as ops from "./ops/index.ts";
export { QSchedPipeline, resolveQSchedOption } from "./pipeline/qsched-pipeline.ts";
export type { QSchedSource } from "./pipeline/qsched-auto.ts";
export type { FromPretrainedOptions, GenerateOptions, GenerateResult, GeneratedImage, QuantScheme, QSchedOption, StepEvent, LoadProgress, DecodeProgress } from "./pipeline/types.ts";
export { encodePng, upscaleNearest, toImageData } from "./pipeline/png.ts";
export { toyModelLocation } from "./pipeline/toy-model.ts";
/** Sources to pass to fromPretrained where a plain URL or FileList is not enough (headers, a cache, picked paths). */
export { urlSource, type UrlSourceOptions } from "./weights/sources/url-source.ts";
export { fileListSource } from "./weights/sources/file-list-source.ts";
export { cacheStorageCache } from "./weights/sources/cache-storage.ts";
export type { WeightsCache } from "./weights/sources/cache.ts";
export type { WeightSource } from "./weights/sources/types.ts";
export { recordPlan, Plan } from "./graph/plan.ts";
