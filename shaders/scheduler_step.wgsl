// One fused scheduler step (all families): the math lives in src/scheduler, which folds Q-Sched's
// coefficients into five scalars per step (StepCoefficients):
//   prev = a·sample + b·eps + c·noise,   denoised = d·sample + e·eps,
// where eps is the UNet output, or with classifier-free guidance (CFG) the combination
// uncond + g·(text − uncond) of the two batch halves of the UNet output [uncond; text].
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params {
  count: u32,
  cfg: u32,
  guidance: f32,
  a: f32,
  b: f32,
  c: f32,
  d: f32,
  e: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> sample: array<elem>;
@group(0) @binding(2) var<storage, read> unet_out: array<elem>;
@group(0) @binding(3) var<storage, read> noise: array<elem>;
@group(0) @binding(4) var<storage, read_write> prev_sample: array<elem>;
@group(0) @binding(5) var<storage, read_write> denoised: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count) { return; }
  var eps = f32(unet_out[i]);
  if (params.cfg != 0u) {
    // diffusers: noise_pred_uncond + g * (noise_pred_text - noise_pred_uncond), in this op order.
    let text = f32(unet_out[i + params.count]);
    eps = eps + params.guidance * (text - eps);
  }
  let x = f32(sample[i]);
  prev_sample[i] = elem(params.a * x + params.b * eps + params.c * f32(noise[i]));
  denoised[i] = elem(params.d * x + params.e * eps);
}
