/**
 * Bounds for the f16 model path (`dtype: "f16"`: weights and activations stored as f16, math in f32
 * inside each kernel), on the error measure max|a−b| / max(max|b|, 1) against diffusers' float32
 * outputs. Each stored value is rounded with relative error ≤ u = 2^-11 ≈ 4.9e-4, and the roundings
 * add up through a model's depth. Measured on the tiny fixture models (README "f16"):
 * - one model call fed the stored inputs (UNet, CLIP text, VAE decoder, TAESD modules): ≤ 3.6e-3 (≈ 7u);
 * - whole generations (traces): ≤ 6.0e-3 (≈ 12u), CFG's g·(text − uncond) amplifying two predictions' rounding.
 * The bounds leave about 3× margin over those, and stay tight enough that computing the timestep
 * embedding's sin/cos arguments in f16 (8.6e-2 at time_proj) fails them. Quantized parts keep their own
 * (looser) bounds, which f16 meets too. Full-size models accumulate more rounding than these tiny ones.
 */
export const F16_ACTIVATION_TOL = 1e-2;
export const F16_TRACE_TOL = 2e-2;
