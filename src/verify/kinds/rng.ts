import { join } from "node:path";
import { randnTensor, TorchGenerator } from "../../scheduler/index.ts";
import { readSafetensorsFileSync, type LoadedSafetensors } from "../../weights/safetensors/node-file.ts";
import { relativeMaxError } from "../compare.ts";
import type { CaseResult, Manifest, VerifyKind, VerifyOptions } from "../types.ts";

/**
 * Fixture kind "rng": torch CPU generator references. Every tensor of a case file is recomputed from the case's
 * seed and must match bit for bit (`tol` is ignored: the RNG is exact or wrong). What each tensor is comes from its
 * name and its stored shape and dtype:
 * `mt19937_u32_first<N>` raw engine words; `f32_*`, `f64_*`, `f16_*` one randn of the stored shape on a fresh
 * generator; `seq/<k>_randn_*` successive randn calls on one generator in order k; a file whose metadata has
 * `list_seeds` holds diffusers randn_tensor draws with a list of generators (and `single_seed` for one generator).
 *
 * One documented exception: F64 tensors may differ by up to 2 ulp in a few values. torch's float64 path calls glibc's
 * log/sin/cos, which are not correctly rounded everywhere (e.g. sin(6.146759965126555): glibc −0.13600254715007687,
 * exact −0.13600254715007684); we compute them correctly rounded, as the fixture README describes. Those values are
 * counted and reported; anything beyond 2 ulp, and any F32/F16/U32 difference, fails.
 */

/** Largest difference in units in the last place accepted for F64 references (see above). */
export const RNG_F64_MAX_ULP = 2;

function ulpDistanceF64(a: number, b: number): number {
  if (Object.is(a, b)) return 0;
  if (!Number.isFinite(a) || !Number.isFinite(b) || Math.sign(a) !== Math.sign(b)) return Infinity;
  const view = new DataView(new ArrayBuffer(16));
  view.setFloat64(0, Math.abs(a));
  view.setFloat64(8, Math.abs(b));
  return Number(view.getBigUint64(0) > view.getBigUint64(8) ? view.getBigUint64(0) - view.getBigUint64(8) : view.getBigUint64(8) - view.getBigUint64(0));
}

interface RngCase {
  file: string;
  seed?: number | string;
}

type Draw = (g: TorchGenerator, shape: number[]) => ArrayLike<number>;

/** A randn draw in the stored tensor's dtype, compared as raw bits (F16 as half bits). */
function drawFor(t: LoadedSafetensors, name: string): Draw {
  const dtype = t.entries.get(name)!.dtype;
  if (dtype === "F32") return (g, s) => new Uint32Array(g.randn(s).buffer);
  if (dtype === "F64") return (g, s) => g.randnFloat64(s);
  if (dtype === "F16") return (g, s) => g.randnFloat16Bits(s);
  throw new Error(`${name}: randn reference of dtype ${dtype} is not supported (F32, F64, F16)`);
}

/** The stored tensor in the same representation as `drawFor` returns. */
function referenceBits(t: LoadedSafetensors, name: string): ArrayLike<number> {
  const dtype = t.entries.get(name)!.dtype;
  const bytes = t.bytes(name);
  if (dtype === "F32") return new Uint32Array(bytes.slice().buffer);
  if (dtype === "F16") return new Uint16Array(bytes.slice().buffer);
  return t.typed(name) as ArrayLike<number>;
}

function asNumbers(bits: ArrayLike<number>, dtype: string): ArrayLike<number> {
  return dtype === "F32" ? new Float32Array(Uint32Array.from(bits).buffer) : bits;
}

class RngCheck {
  failures: string[] = [];
  compared = 0;
  error = 0;
  /** F64 values within RNG_F64_MAX_ULP but not bit-equal. */
  f64UlpOff = 0;
  constructor(private readonly t: LoadedSafetensors) {}
  compare(name: string, got: ArrayLike<number>): void {
    const want = referenceBits(this.t, name);
    this.compared++;
    let firstBad = -1;
    if (got.length !== want.length) firstBad = 0;
    else for (let i = 0; i < want.length && firstBad < 0; i++) if (!Object.is(got[i], want[i])) firstBad = i;
    if (firstBad < 0) return;
    const dtype = this.t.entries.get(name)!.dtype;
    if (dtype === "F64" && got.length === want.length) {
      let off = 0;
      let worst = 0;
      for (let i = 0; i < want.length; i++) {
        const d = ulpDistanceF64(got[i]!, want[i]!);
        if (d > 0) off++;
        worst = Math.max(worst, d);
      }
      if (worst <= RNG_F64_MAX_ULP) {
        this.f64UlpOff += off;
        return;
      }
    }
    if (dtype !== "F16" && !name.startsWith("mt19937")) {
      this.error = Math.max(this.error, relativeMaxError(asNumbers(got, dtype), asNumbers(want, dtype)));
    } else this.error = Infinity;
    this.failures.push(`${name} differs at index ${firstBad}`);
  }
}

function parseSeed(seed: number | string | undefined, where: string): bigint {
  if (seed === undefined) throw new Error(`${where}: case has no "seed"`);
  return BigInt(seed);
}

function parseJsonMeta<T>(t: LoadedSafetensors, key: string): T {
  const v = t.metadata[key];
  if (v === undefined) throw new Error(`${t.path}: metadata has no "${key}"`);
  return JSON.parse(v) as T;
}

function runGeneratorListCase(t: LoadedSafetensors, check: RngCheck): void {
  const shape = parseJsonMeta<number[]>(t, "shape");
  const seeds = parseJsonMeta<number[]>(t, "list_seeds");
  const listDraw = () => new Uint32Array(randnTensor(shape, seeds.map((s) => new TorchGenerator(s))).buffer);
  for (const name of t.entries.keys()) {
    if (name === "single_generator") {
      const single = new TorchGenerator(parseJsonMeta<number>(t, "single_seed"));
      check.compare(name, new Uint32Array(single.randn(shape).buffer));
    } else check.compare(name, listDraw());
  }
}

function runSeedCase(t: LoadedSafetensors, seed: bigint, check: RngCheck): void {
  const names = [...t.entries.keys()];
  const sequence = names
    .filter((n) => n.startsWith("seq/"))
    .map((n) => ({ n, k: Number(/^seq\/(\d+)_/.exec(n)?.[1] ?? NaN) }))
    .sort((a, b) => a.k - b.k);
  if (sequence.some((s) => Number.isNaN(s.k))) throw new Error(`${t.path}: seq/ tensors must be named seq/<k>_...`);
  const g = new TorchGenerator(seed);
  for (const { n } of sequence) check.compare(n, drawFor(t, n)(g, t.shape(n)));
  for (const name of names) {
    if (name.startsWith("seq/")) continue;
    const raw = /^mt19937_u32_first(\d+)$/.exec(name);
    if (raw) {
      const engine = new TorchGenerator(seed);
      check.compare(name, Array.from({ length: Number(raw[1]) }, () => engine.nextU32()));
    } else if (/^f(16|32|64)_/.test(name)) {
      check.compare(name, drawFor(t, name)(new TorchGenerator(seed), t.shape(name)));
    } else throw new Error(`${t.path}: tensor "${name}" is not a known rng reference name`);
  }
}

const rng: VerifyKind = {
  kind: "rng",
  defaultTol: 0,
  needsGpu: false,
  async run(folder: string, manifest: Manifest, _opts: VerifyOptions): Promise<CaseResult[]> {
    if (!Array.isArray(manifest.cases)) throw new Error(`rng: ${folder}/manifest.json has no "cases" array`);
    return (manifest.cases as RngCase[]).map((c) => {
      const name = String(c.file).replace(/\.safetensors$/, "");
      try {
        const t = readSafetensorsFileSync(join(folder, c.file));
        const check = new RngCheck(t);
        if (t.metadata.list_seeds !== undefined) runGeneratorListCase(t, check);
        else runSeedCase(t, parseSeed(c.seed, name), check);
        const ok = check.failures.length === 0 && check.compared > 0;
        const detail = ok
          ? `${check.compared} tensors bit-exact` + (check.f64UlpOff ? ` except ${check.f64UlpOff} F64 values ≤ 2 ulp off (glibc libm rounding)` : "")
          : check.compared === 0 ? "no tensors compared" : `${check.failures.length}/${check.compared} differ: ${check.failures.slice(0, 3).join("; ")}`;
        return { name, ok, error: ok ? 0 : check.error, detail };
      } catch (e) {
        return { name, ok: false, detail: `error: ${(e as Error).message}` };
      }
    });
  },
};

export default rng;
