// FMA-throughput probe: every thread runs 8 independent vec4 FMA chains for `iters` rounds,
// so the ALUs are never waiting on one result. FLOPs = threads · iters · 8 · 4 lanes · 2.
// The sum is written out so the compiler cannot drop the loop; the multiplier stays below 1 so the
// values neither overflow nor flush to denormals.
struct Params {
  iters: u32,
  seed: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> sink: array<vec4<f32>>;

@compute @workgroup_size(WG_SIZE, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG_SIZE;
  let m = vec4<f32>(0.999, 0.998, 0.997, 0.996);
  let c = vec4<f32>(params.seed);
  // Eight named accumulators (not an array) so they stay in registers.
  let f = f32(i) * 1e-6;
  var a0 = vec4<f32>(f); var a1 = vec4<f32>(f + 1e-3); var a2 = vec4<f32>(f + 2e-3); var a3 = vec4<f32>(f + 3e-3);
  var a4 = vec4<f32>(f + 4e-3); var a5 = vec4<f32>(f + 5e-3); var a6 = vec4<f32>(f + 6e-3); var a7 = vec4<f32>(f + 7e-3);
  for (var it = 0u; it < params.iters; it = it + 1u) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  let s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
  sink[i] = s;
}
