// The UNet's input from the latents: x / divisor (the scheduler's scale_model_input, a division as torch does it), repeated `copies` times along the batch
// (copies = 2 with classifier-free guidance: [uncond; text] share the same latents).
#include "include/elem.wgsl"
#include "include/grid.wgsl"

struct Params { count: u32, copies: u32, divisor: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<elem>;
@group(0) @binding(2) var<storage, read_write> y: array<elem>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count * params.copies) { return; }
  y[i] = elem(f32(x[i % params.count]) / params.divisor);
}
