/**
 * Pipeline lifecycle on the embedded toy model: GPU bytes come back (generate, abort, failed load,
 * dispose — checked by the pool's byte counts), and per-step previews decode the step's x0 prediction.
 */
import { cpSync, mkdtempSync, rmSync, truncateSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { Gpu } from "../../src/gpu/runtime.ts";
import { TaesdDecoder } from "../../src/models/taesd/taesd.ts";
import { QSchedPipeline } from "../../src/pipeline/qsched-pipeline.ts";
import { toImages } from "../../src/pipeline/preview.ts";
import type { StepEvent } from "../../src/pipeline/types.ts";
import { componentSource, readJson } from "../../src/verify/pipeline/component-source.ts";
import { goldenFolders, REPO_ROOT } from "../helpers/golden.ts";
import { fractionOff } from "../helpers/images.ts";
import { startRangeServer } from "../weights/helpers/range-server.ts";

const TOY = join(REPO_ROOT, "models/toy-shapes");
const PROMPT = "a red circle on a blue background";

describe("GPU memory comes back", () => {
  it("generate and an aborted generate leave the pool as they found it; dispose() returns it to zero", async () => {
    const gpu = await Gpu.create();
    const pipe = await QSchedPipeline.fromPretrained(TOY, { gpu, quant: "w4a8" });
    const loaded = gpu.pool.live;
    expect(loaded).toBeGreaterThan(10 * 2 ** 20); // the toy's weights (~20 MiB as uploaded)
    const r = await pipe.generate({ prompt: PROMPT, seed: 1, steps: 2, preview: true, onStep: () => {} });
    expect(r.peakBytes).toBeGreaterThan(0);
    expect(gpu.pool.live).toBe(loaded);

    const ac = new AbortController();
    const seen: number[] = [];
    const aborted = pipe.generate({ prompt: PROMPT, seed: 1, steps: 4, signal: ac.signal, onStep: (e) => {
      seen.push(e.step);
      if (e.step === 2) ac.abort();
    } });
    await expect(aborted).rejects.toMatchObject({ name: "AbortError" });
    expect(seen).toEqual([1, 2]); // stops between steps, right after the abort
    expect(gpu.pool.live).toBe(loaded);

    // A failure inside a step (here a trace callback, standing in for an op that throws) frees the step's tensors.
    for (const at of ["step0.unet_in", "step1.noise_pred", "step1.sched_noise", "step1.prev_sample"]) {
      const failing = pipe.generate({ prompt: PROMPT, seed: 1, steps: 2, guidanceScale: 2, trace: async (name) => {
        if (name === at) throw new Error(`failed at ${at}`);
      } });
      await expect(failing).rejects.toThrow(`failed at ${at}`);
      expect(gpu.pool.live, at).toBe(loaded);
    }

    pipe.dispose();
    expect(gpu.pool.live).toBe(0);
    expect(gpu.pool.held).toBe(0); // cached free buffers destroyed too
    await expect(pipe.generate({ prompt: PROMPT })).rejects.toThrow(/disposed/);
  });

  it("overlapping generate() calls (a second click while one runs) queue: each gives its sequential image; dispose() mid-run frees after it", async () => {
    // Eager ops and plan recording share state across awaits (the recorder, the pool's arena): before calls queued on
    // the Gpu, a second call's copy hit the first one's recording ("copy: not recordable in a plan").
    const gpu = await Gpu.create();
    const pipe = await QSchedPipeline.fromPretrained(TOY, { gpu });
    const loaded = gpu.pool.live;
    const a = { prompt: PROMPT, seed: 3, steps: 2 };
    const b = { prompt: "two yellow squares", seed: 4, steps: 3 };
    const bytes = (r: { images: { data: Uint8Array | Uint8ClampedArray }[] }) => Buffer.from(r.images[0]!.data);
    const [seqA, seqB] = [bytes(await pipe.generate(a)), bytes(await pipe.generate(b))];
    const order: string[] = [];
    const tagged = (o: typeof a, tag: string) => pipe.generate({ ...o, onStep: (e) => void order.push(`${tag}${e.step}`) });
    const [ra, rb, ra2] = await Promise.all([tagged(a, "a"), tagged(b, "b"), tagged(a, "c")]);
    expect([bytes(ra).equals(seqA), bytes(rb).equals(seqB), bytes(ra2).equals(seqA)]).toEqual([true, true, true]);
    expect(order).toEqual(["a1", "a2", "b1", "b2", "b3", "c1", "c2"]); // whole calls in turn, in call order
    expect(gpu.pool.live).toBe(loaded);

    // dispose() while one call runs and another waits: the running one finishes, the waiting one is refused, and the
    // buffers are freed when the running one ends.
    let disposeAtStep: number | undefined;
    const running = pipe.generate({ ...a, onStep: (e) => {
      if (e.step === 1) {
        pipe.dispose();
        disposeAtStep = e.step;
        expect(gpu.pool.live).toBeGreaterThan(0); // still in use
      }
    } });
    const waiting = pipe.generate(b);
    expect(bytes(await running).equals(seqA)).toBe(true);
    await expect(waiting).rejects.toThrow("generate(): the pipeline was disposed");
    expect(disposeAtStep).toBe(1);
    expect(gpu.pool.live).toBe(0);
  });

  it("a queued generate() aborted while another runs rejects at once; an already-aborted signal rejects before any work", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    try {
      const events: string[] = [];
      const ac = new AbortController();
      const first = pipe.generate({ prompt: PROMPT, seed: 1, steps: 3, onStep: (e) => {
        events.push(`first step ${e.step}`);
        if (e.step === 1) ac.abort();
      } });
      const queued = pipe.generate({ prompt: PROMPT, seed: 2, steps: 2, signal: ac.signal, onStep: () => void events.push("queued ran") });
      queued.catch(() => events.push("queued rejected"));
      await expect(queued).rejects.toMatchObject({ name: "AbortError" });
      await first;
      // Rejected during the first call's second step at the latest (abort at its first), never run.
      expect(events.indexOf("queued rejected")).toBeLessThan(events.indexOf("first step 3"));
      expect(events).not.toContain("queued ran");
      const t0 = performance.now();
      await expect(pipe.generate({ prompt: PROMPT, signal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
      expect(performance.now() - t0).toBeLessThan(100); // no text encoding first (that took ~300 ms)
    } finally {
      pipe.dispose();
    }
  });

  it("a load that fails half-way (corrupt VAE file) leaves nothing allocated", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qsched-corrupt-"));
    try {
      cpSync(TOY, dir, { recursive: true });
      const vaeFile = join(dir, "vae/diffusion_pytorch_model.safetensors");
      truncateSync(vaeFile, statSync(vaeFile).size - 1000);
      const gpu = await Gpu.create();
      // The UNet and text encoder are on the GPU before the VAE is read.
      await expect(QSchedPipeline.fromPretrained(dir, { gpu })).rejects.toThrow(/vae.*diffusion_pytorch_model\.safetensors/s);
      expect(gpu.pool.live).toBe(0);
      expect(gpu.pool.held).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a keepRgba image given back after dispose()", () => {
  it("leaves nothing held by the pipeline's own Gpu (it went into a cache no one would use)", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    const { rgba } = await pipe.generate({ prompt: PROMPT, seed: 1, steps: 1, keepRgba: true });
    pipe.dispose();
    rgba!.dispose();
    expect(pipe.gpu.pool.live).toBe(0);
    expect(pipe.gpu.pool.held).toBe(0); // before: the image's 64 KiB stayed cached for good
  });
});

describe("a queued generate()", () => {
  it("uses the Q-Sched coefficients set when it was called, not those set before its turn", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    try {
      const args = { prompt: PROMPT, seed: 5, steps: 2 };
      const plain = (await pipe.generate(args)).images[0]!.data;
      const running = pipe.generate({ ...args, seed: 6 });
      const queued = pipe.generate(args); // asked for without Q-Sched
      pipe.setQSched({ m: 0.7, s: 1.2 }); // before its turn
      await running;
      expect(Array.from((await queued).images[0]!.data)).toEqual(Array.from(plain));
      expect(Array.from((await pipe.generate(args)).images[0]!.data)).not.toEqual(Array.from(plain)); // now it applies
    } finally {
      pipe.dispose();
    }
  });
});

describe("one AbortSignal shared by many queued calls", () => {
  it("takes one listener (no MaxListenersExceededWarning) and aborts them all", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    const warnings: string[] = [];
    const onWarning = (w: Error) => void warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      const ac = new AbortController();
      const calls = Array.from({ length: 15 }, (_, i) => pipe.generate({ prompt: PROMPT, seed: i, steps: 1, signal: ac.signal }).then(() => "done", (e: Error) => e.name));
      ac.abort();
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => o === "AbortError").length).toBeGreaterThanOrEqual(14); // the first may finish
      await new Promise((r) => setTimeout(r, 10)); // warnings are emitted on the next tick
      expect(warnings).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
      pipe.dispose();
    }
  });
});

describe("a generate() awaited inside the same pipeline's onStep", () => {
  it("is refused (Node) instead of waiting for itself forever, and the pipeline keeps working", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    try {
      let inner: unknown;
      const outer = await pipe.generate({
        prompt: PROMPT,
        seed: 2,
        steps: 1,
        onStep: async () => {
          inner = await pipe.generate({ prompt: PROMPT, seed: 3, steps: 1 }).catch((e: Error) => e);
        },
      });
      expect(outer.images).toHaveLength(1);
      expect(String(inner)).toMatch(/called from inside a running call on the same Gpu .* which would wait for itself/);
      // Not in a callback: queued and run as usual.
      expect((await pipe.generate({ prompt: PROMPT, seed: 3, steps: 1 })).images).toHaveLength(1);
    } finally {
      pipe.dispose();
    }
  });
});

describe("an aborted load from a URL", () => {
  it("sends no request when the signal is already aborted, and stops a transfer in progress", async () => {
    const server = await startRangeServer(TOY);
    try {
      const gpu = await Gpu.create();
      const live = gpu.pool.live;
      const ac = new AbortController();
      ac.abort();
      await expect(QSchedPipeline.fromPretrained(server.url, { gpu, signal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
      expect(server.requests).toEqual([]); // before: every config, vocab and merges file was still fetched

      // Slow chunks (4 KiB every 50 ms, 80 KB/s): vocab.json (1.6 MB) alone takes 20 s, the token table over a minute.
      server.chunkBytes = 4096;
      server.chunkDelayMs = 50;
      const slow = new AbortController();
      const t0 = performance.now();
      const load = QSchedPipeline.fromPretrained(server.url, { gpu, signal: slow.signal });
      setTimeout(() => slow.abort(), 1500);
      await expect(load).rejects.toMatchObject({ name: "AbortError" });
      const ms = performance.now() - t0;
      expect(ms, "rejected during the transfer, not after it").toBeLessThan(6000);
      expect(gpu.pool.live).toBe(live);
    } finally {
      await server.close();
    }
  });
});

describe("per-step previews", () => {
  it("decode each step's x0 prediction with the VAE; the last one is the final image", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    try {
      expect(pipe.previewDecoderKind).toBe("vae");
      const events: StepEvent[] = [];
      const r = await pipe.generate({ prompt: PROMPT, seed: 100, steps: 4, guidanceScale: 2, preview: true, onStep: (e) => void events.push(e) });
      expect(events.map((e) => e.step)).toEqual([1, 2, 3, 4]);
      for (const e of events) {
        expect(e.preview).toHaveLength(1);
        expect([e.preview![0]!.width, e.preview![0]!.height]).toEqual([64, 64]);
      }
      const final = r.images[0]!.data;
      // Euler's last step has sigma_next = 0, so prev_sample = x0 mathematically; the fused step kernel
      // computes the two with different coefficients, hence a ±1 (rounding) allowance, not equality.
      expect(fractionOff(events[3]!.preview![0]!.data, final, 1)).toBeLessThan(0.001);
      // Step 1's x0 guess is visibly different from the final image (previews are per step, not a copy).
      expect(fractionOff(events[0]!.preview![0]!.data, final, 8)).toBeGreaterThan(0.05);
      // Without `preview`, events carry no image (and no decode is paid).
      const plain: StepEvent[] = [];
      await pipe.generate({ prompt: PROMPT, seed: 100, steps: 1, onStep: (e) => void plain.push(e) });
      expect(plain[0]!.preview).toBeUndefined();
    } finally {
      pipe.dispose();
    }
  });

  it("decode with a loaded TAESD: equal to TAESD applied to the traced x0 prediction", async () => {
    const taesdDir = join(goldenFolders("tiny-taesd")[0]!.dir, "taesd"); // a tiny random AutoencoderTiny
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    try {
      await pipe.loadPreviewDecoder(taesdDir);
      expect(pipe.previewDecoderKind).toBe("taesd");
      const previews: Uint8ClampedArray[] = [];
      const denoised: Float32Array[] = [];
      await pipe.generate({
        prompt: PROMPT,
        seed: 7,
        steps: 2,
        guidanceScale: 2,
        preview: true,
        onStep: (e) => void previews.push(e.preview![0]!.data),
        trace: async (name, v) => {
          if (/^step\d+\.denoised$/.test(name)) denoised.push(v instanceof Float32Array ? v : await pipe.gpu.read(v as never));
        },
      });
      expect(previews).toHaveLength(2);
      const reference = TaesdDecoder.load(pipe.gpu, componentSource(taesdDir), readJson(join(taesdDir, "config.json")));
      try {
        for (let i = 0; i < 2; i++) {
          const z = pipe.gpu.upload(denoised[i]!, [1, 4, 8, 8]);
          const image = await reference.decode(z);
          z.dispose();
          const expected = (await toImages(pipe.gpu, image))[0]!.data;
          image.dispose();
          expect(fractionOff(previews[i]!, expected, 0)).toBe(0); // same kernels, same input: identical
        }
      } finally {
        reference.dispose();
      }
      await expect(pipe.loadPreviewDecoder(join(TOY, "vae"))).rejects.toThrow(/AutoencoderTiny/);
    } finally {
      pipe.dispose();
    }
  });
});

describe("a TAESD decode over the binding limit", () => {
  it("is refused before any work, naming the size and the way out (before, it failed after the whole denoising loop)", async () => {
    const taesdDir = join(goldenFolders("tiny-taesd")[0]!.dir, "taesd"); // 8 channels
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    const limits = pipe.gpu.ctx.caps.limits;
    const saved = limits.maxStorageBufferBindingSize;
    try {
      await pipe.loadPreviewDecoder(taesdDir);
      // Widest TAESD activation at 64×64: 8 channels × 64 × 64 × 4 B = 128 KiB; pretend the adapter binds 4 bytes less.
      limits.maxStorageBufferBindingSize = 8 * 64 * 64 * 4 - 4;
      let steps = 0;
      const args = { prompt: PROMPT, seed: 1, steps: 2, guidanceScale: 2, onStep: () => void steps++ };
      const message = /a TAESD decode of batch 1 at 64×64 needs 0 MiB activations, over this adapter's maxStorageBufferBindingSize .*dtype "f16"/;
      await expect(pipe.generate({ ...args, decoder: "taesd" })).rejects.toThrow(message);
      await expect(pipe.generate({ ...args, decoder: "taesd", preview: true })).rejects.toThrow(message);
      expect(steps).toBe(0);
      // The VAE's own limit stands where the VAE decodes.
      await expect(pipe.generate({ ...args, preview: true })).rejects.toThrow(/needs 0 MiB VAE activation slices/);
    } finally {
      limits.maxStorageBufferBindingSize = saved;
      pipe.dispose();
    }
  });
});

describe("final decode with TAESD (generate({ decoder: \"taesd\" }))", () => {
  it("equals TAESD applied to the final latents, differs from the VAE's image, and needs a loaded TAESD", async () => {
    const taesdDir = join(goldenFolders("tiny-taesd")[0]!.dir, "taesd");
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    try {
      const args = { prompt: PROMPT, seed: 11, steps: 2, guidanceScale: 2 };
      await expect(pipe.generate({ ...args, decoder: "taesd" })).rejects.toThrow(/decoder "taesd" needs a TAESD: call loadPreviewDecoder/);
      await expect(pipe.generate({ ...args, decoder: "tiny" as never })).rejects.toThrow(/decoder must be "vae" or "taesd", got "tiny"/);
      await pipe.loadPreviewDecoder(taesdDir);
      let latents: Float32Array | undefined;
      const fast = await pipe.generate({
        ...args,
        decoder: "taesd",
        trace: async (name, v) => {
          if (name === "final_latents") latents = v instanceof Float32Array ? v : await pipe.gpu.read(v as never);
        },
      });
      const vae = await pipe.generate(args);
      const reference = TaesdDecoder.load(pipe.gpu, componentSource(taesdDir), readJson(join(taesdDir, "config.json")));
      try {
        const z = pipe.gpu.upload(latents!, [1, 4, 8, 8]);
        const image = await reference.decode(z);
        z.dispose();
        const expected = (await toImages(pipe.gpu, image))[0]!.data;
        image.dispose();
        expect(fractionOff(fast.images[0]!.data, expected, 0)).toBe(0); // same kernels, same input: identical
      } finally {
        reference.dispose();
      }
      // A random tiny TAESD draws nothing like the trained VAE: the option really switched decoders.
      expect(fractionOff(fast.images[0]!.data, vae.images[0]!.data, 8)).toBeGreaterThan(0.5);
    } finally {
      pipe.dispose();
    }
  });
});

describe("decode progress (generate({ onDecode }))", () => {
  it("reports every stage of the VAE decode in order, and changes nothing in the image", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    try {
      const args = { prompt: PROMPT, seed: 12, steps: 1 };
      const seen: string[] = [];
      const withProgress = await pipe.generate({ ...args, onDecode: (p) => void seen.push(`${p.done}/${p.total} ${p.module}`) });
      const plain = await pipe.generate(args);
      // The toy's VAE has 4 levels: conv_in, mid block, 4 up blocks, conv_out.
      expect(seen).toEqual(["1/7 decoder.conv_in", "2/7 decoder.mid_block", "3/7 decoder.up_blocks.0", "4/7 decoder.up_blocks.1", "5/7 decoder.up_blocks.2", "6/7 decoder.up_blocks.3", "7/7 decoder.conv_out"]);
      expect(Buffer.from(withProgress.images[0]!.data).equals(Buffer.from(plain.images[0]!.data))).toBe(true);
    } finally {
      pipe.dispose();
    }
  });
});

describe("long prompts", () => {
  it("are cut at 77 tokens as diffusers does, with a warning naming the dropped words", async () => {
    const pipe = await QSchedPipeline.fromPretrained(TOY);
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const head = Array.from({ length: 75 }, () => "red").join(" "); // "red" is one token
      const gen = async (prompt: string) => Buffer.from((await pipe.generate({ prompt, seed: 5, steps: 1 })).images[0]!.data);
      const cut = await gen(head);
      expect(warn).not.toHaveBeenCalled();
      const long = await gen(`${head} blue square zebra`);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/truncated because CLIP can only handle sequences up to 77 tokens \(80 given\): blue square zebra$/);
      expect(long.equals(cut)).toBe(true); // the dropped words do not reach the text encoder
    } finally {
      warn.mockRestore();
      pipe.dispose();
    }
  });
});
