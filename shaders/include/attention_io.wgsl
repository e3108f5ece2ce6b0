// Bindings of the attention kernels (attention.wgsl, attention_rows.wgsl): q [B, Lq, H·d], k/v [B, Lk, H·d],
// y [B, Lq, H·d]; head h = channels [h·d, (h+1)·d). scale = 1/√d.
#include "include/elem.wgsl"

struct Params { lq: u32, lk: u32, heads: u32, scale: f32 }

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<elem>;
@group(0) @binding(2) var<storage, read> k: array<elem>;
@group(0) @binding(3) var<storage, read> v: array<elem>;
@group(0) @binding(4) var<storage, read_write> y: array<elem>;

// Lowest finite f32: a start for the running max whose exp(m − m_new) is exactly 0.
const NEG_BIG = -3.4028234e38;
