import { describe, expect, it } from "vitest";
import { encodeSafetensors } from "../../src/weights/safetensors/writer.ts";
import { SafetensorsError } from "../../src/weights/safetensors/errors.ts";
import { openSafetensors } from "../../src/weights/safetensors/lazy-reader.ts";
import { parseSafetensorsBytes } from "../../src/weights/safetensors/memory.ts";

/** mulberry32: a tiny seeded generator so every case is reproducible from its index. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function validFile(): Uint8Array {
  return encodeSafetensors(
    {
      a: { dtype: "F32", shape: [2, 3], data: new Float32Array(6).fill(1.5) },
      b: { dtype: "F16", shape: [4], data: new Uint16Array(4).fill(0x3c00) },
      c: { dtype: "I8", shape: [3], data: new Int8Array([1, -2, 3]) },
    },
    { note: "fuzz" },
  );
}

/** Rebuilds a file with a given header object (or raw header bytes) over `data` bytes. */
function withHeader(header: unknown, data: Uint8Array): Uint8Array {
  const json = header instanceof Uint8Array ? header : new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

type Corruption = { kind: string; make: (r: () => number) => Uint8Array };

const DATA = new Uint8Array(24 + 8 + 3);
const GOOD_HEADER = {
  a: { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] },
  b: { dtype: "F16", shape: [4], data_offsets: [24, 32] },
  c: { dtype: "I8", shape: [3], data_offsets: [32, 35] },
};
const pick = <T,>(r: () => number, xs: T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Corruptions that must always be rejected. */
const MUST_FAIL: Corruption[] = [
  { kind: "truncated", make: (r) => validFile().subarray(0, Math.floor(r() * (validFile().length - 1))) },
  {
    kind: "huge header length",
    make: (r) => {
      const f = validFile().slice();
      new DataView(f.buffer).setBigUint64(0, BigInt(Math.floor(r() * 2 ** 53)) + 100_000_000n, true);
      return f;
    },
  },
  {
    kind: "header length past the end",
    make: (r) => {
      const f = validFile().slice();
      new DataView(f.buffer).setBigUint64(0, BigInt(f.length - 8 + 1 + Math.floor(r() * 1000)), true);
      return f;
    },
  },
  { kind: "offsets past the end", make: (r) => withHeader({ ...GOOD_HEADER, c: { dtype: "I8", shape: [3 + 100], data_offsets: [32, 135 + Math.floor(r() * 1e6)] } }, DATA) },
  { kind: "overlapping spans", make: (r) => withHeader({ ...GOOD_HEADER, b: { dtype: "F16", shape: [4], data_offsets: [20 - 2 * Math.floor(r() * 5), 28 - 2 * Math.floor(r() * 5)] } }, DATA) },
  { kind: "gap between spans", make: () => withHeader({ a: GOOD_HEADER.a, c: { dtype: "I8", shape: [3], data_offsets: [32, 35] } }, DATA) },
  { kind: "unknown dtype", make: (r) => withHeader({ ...GOOD_HEADER, c: { dtype: pick(r, ["I4", "f32", "", "Q8_0", null, 7]), shape: [3], data_offsets: [32, 35] } }, DATA) },
  { kind: "shape overflow", make: (r) => withHeader({ ...GOOD_HEADER, c: { dtype: "I8", shape: [2 ** 30, 2 ** 30, 2 ** (1 + Math.floor(r() * 20))], data_offsets: [32, 35] } }, DATA) },
  { kind: "shape x dtype != span", make: (r) => withHeader({ ...GOOD_HEADER, a: { dtype: "F32", shape: [2, 3 + 1 + Math.floor(r() * 4)], data_offsets: [0, 24] } }, DATA) },
  { kind: "bad shape values", make: (r) => withHeader({ ...GOOD_HEADER, c: { dtype: "I8", shape: pick(r, [[-3], [1.5, 2], ["3"], null, 3, [1e400]]), data_offsets: [32, 35] } }, DATA) },
  { kind: "bad offsets", make: (r) => withHeader({ ...GOOD_HEADER, c: { dtype: "I8", shape: [3], data_offsets: pick(r, [[35, 32], [32], [-1, 2], "32-35", null, [32.5, 35.5]]) } }, DATA) },
  { kind: "bad metadata", make: (r) => withHeader({ ...GOOD_HEADER, __metadata__: pick(r, [{ k: 1 }, [], "x", { k: null }]) }, DATA) },
  {
    kind: "bad JSON",
    make: (r) => {
      const text = JSON.stringify(GOOD_HEADER);
      const cut = 1 + Math.floor(r() * (text.length - 2));
      return withHeader(new TextEncoder().encode(text.slice(0, cut)), DATA);
    },
  },
  { kind: "not an object", make: (r) => withHeader(pick(r, [[1, 2], "x", 3, null]), DATA) },
  {
    kind: "bad UTF-8",
    make: (r) => {
      const json = new TextEncoder().encode(JSON.stringify({ ...GOOD_HEADER, __metadata__: { k: "abcd" } }));
      const at = new TextDecoder().decode(json).indexOf("abcd") + Math.floor(r() * 4);
      json[at] = pick(r, [0xff, 0xc0, 0x80, 0xfe]);
      return withHeader(json, DATA);
    },
  },
];

/**
 * A source that fails with a plain Error (not a SafetensorsError) on any out-of-bounds read, so a
 * validation gap shows up as a failed test instead of hiding behind the source's own range check.
 */
function strictSource(bytes: Uint8Array) {
  return {
    size: bytes.length,
    async read(offset: number, length: number) {
      if (offset < 0 || length < 0 || offset + length > bytes.length) throw new Error(`OUT OF BOUNDS read(${offset}, ${length})`);
      return bytes.subarray(offset, offset + length);
    },
  };
}

async function expectRejected(bytes: Uint8Array, label: string): Promise<SafetensorsError> {
  let syncErr: unknown;
  try {
    parseSafetensorsBytes(bytes, label);
  } catch (e) {
    syncErr = e;
  }
  expect(syncErr, `${label} (whole-file)`).toBeInstanceOf(SafetensorsError);
  let lazyErr: unknown;
  try {
    await openSafetensors(strictSource(bytes), label);
  } catch (e) {
    lazyErr = e;
  }
  expect(lazyErr, `${label} (lazy)`).toBeInstanceOf(SafetensorsError);
  return lazyErr as SafetensorsError;
}

describe("hostile and corrupt safetensors files", () => {
  it("rejects 20 seeded variants of each of 15 corruption kinds with a SafetensorsError", async () => {
    let n = 0;
    for (const c of MUST_FAIL) {
      for (let seed = 0; seed < 20; seed++) {
        const err = await expectRejected(c.make(rng(seed * 7919 + n)), `${c.kind} #${seed}`);
        expect(err.message).toContain(`${c.kind} #${seed}`); // the message says where
        n++;
      }
    }
    expect(n).toBe(300);
  });

  it("random byte flips are either rejected or yield a file whose every tensor reads in bounds", async () => {
    const base = validFile();
    let rejected = 0;
    let accepted = 0;
    for (let seed = 0; seed < 400; seed++) {
      const r = rng(seed);
      const f = base.slice();
      const flips = 1 + Math.floor(r() * 4);
      // Flip bytes in the prefix and header, where the parser looks.
      const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));
      for (let i = 0; i < flips; i++) f[Math.floor(r() * headerEnd)] = Math.floor(r() * 256);
      try {
        const st = await openSafetensors(strictSource(f), `flip #${seed}`);
        for (const t of st.tensors.values()) {
          const bytes = await t.read();
          expect(bytes.length).toBe(t.byteLength);
          expect(t.offset + t.byteLength).toBeLessThanOrEqual(f.length);
        }
        accepted++;
      } catch (e) {
        expect(e, `flip #${seed}`).toBeInstanceOf(SafetensorsError);
        rejected++;
      }
    }
    console.log(`[weights] byte flips: ${rejected} rejected, ${accepted} still valid`);
    expect(rejected).toBeGreaterThan(200); // most flips break JSON or numbers
  });

  it("a source that returns fewer bytes than asked is an error, not a short tensor", async () => {
    const f = validFile();
    const lying = { size: f.length, read: async (o: number, l: number) => f.subarray(o, o + Math.max(0, l - 1)) };
    await expect(openSafetensors(lying, "short-reads")).rejects.toBeInstanceOf(SafetensorsError);
    const truncatedLater = { size: f.length, read: async (o: number, l: number) => (o < 100 ? f.subarray(o, o + l) : f.subarray(o, o + l - 1)) };
    const st = await openSafetensors(truncatedLater, "short-tensor");
    await expect(st.tensors.get("c")!.read()).rejects.toThrow(/should be 3 bytes but 2 were read/);
  });
});
