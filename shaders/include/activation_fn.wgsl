// The activation function, picked by one ACT_* define (NONE, SILU, GELU_ERF, GELU_TANH, QUICK_GELU,
// SIGMOID, RELU, TANH). Defined once: the elementwise activation kernel and the matmul/conv epilogues
// both include it. ACT_RUNTIME instead picks it by a run-time id (apply_activation_id; ids in
// src/ops/activation.ts ACTIVATION_IDS), for kernels that compile one epilogue for all activations.
#include "include/math.wgsl"

fn apply_activation(v: f32) -> f32 {
#if ACT_SILU
  return v * sigmoid_f32(v);
#endif
#if ACT_GELU_ERF
  return 0.5 * v * (1.0 + erf_f32(v * 0.70710678118654752));
#endif
#if ACT_GELU_TANH
  return 0.5 * v * (1.0 + tanh_f32(0.79788456080286536 * (v + 0.044715 * v * v * v)));
#endif
#if ACT_QUICK_GELU
  return v * sigmoid_f32(1.702 * v);
#endif
#if ACT_SIGMOID
  return sigmoid_f32(v);
#endif
#if ACT_RELU
  return max(v, 0.0);
#endif
#if ACT_TANH
  return tanh_f32(v);
#endif
#if ACT_NONE
  return v;
#endif
#if ACT_RUNTIME
  return v;
#endif
}

#if ACT_RUNTIME
// id: 0 none, 1 silu, 2 gelu_erf, 3 gelu_tanh, 4 quick_gelu, 5 sigmoid, 6 relu, 7 tanh.
fn apply_activation_id(v: f32, id: u32) -> f32 {
  switch id {
    case 1u: { return v * sigmoid_f32(v); }
    case 2u: { return 0.5 * v * (1.0 + erf_f32(v * 0.70710678118654752)); }
    case 3u: { return 0.5 * v * (1.0 + tanh_f32(0.79788456080286536 * (v + 0.044715 * v * v * v))); }
    case 4u: { return v * sigmoid_f32(1.702 * v); }
    case 5u: { return sigmoid_f32(v); }
    case 6u: { return max(v, 0.0); }
    case 7u: { return tanh_f32(v); }
    default: { return v; }
  }
}
#endif
