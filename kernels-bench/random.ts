/** Seeded uniform values in [-scale, scale) (xorshift32), so every backend sees the same inputs. */
export function seededUniform(count: number, seed: number, scale = 1): Float32Array<ArrayBuffer> {
  const out = new Float32Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 * 2 - 1) * scale;
  }
  return out;
}
