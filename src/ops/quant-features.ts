import { platformGpu } from "#platform";

let cached: Promise<boolean> | undefined;

/**
 * Whether WGSL has `dot4I8Packed` (language feature packed_4x8_integer_dot_product), read from the
 * GPU object (navigator.gpu in browsers, Dawn's GPU in Node).
 */
export function hasPackedIntegerDot(): Promise<boolean> {
  cached ??= platformGpu()
    .then(({ gpu }) => !!gpu.wgslLanguageFeatures?.has("packed_4x8_integer_dot_product"))
    .catch(() => false);
  return cached;
}
