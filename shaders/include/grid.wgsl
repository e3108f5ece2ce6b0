// Flat invocation index over a 2-D grid of 1-D workgroups of WG_SIZE threads: the host splits
// dispatches wider than maxComputeWorkgroupsPerDimension into (x, y) (see gridFor in TS).
fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * WG_SIZE;
}
