/**
 * Measures load throughput and peak memory of the weights layer (not a test):
 *   load-throughput disk <file.safetensors>          a fresh buffer per tensor
 *   load-throughput disk-reuse <file.safetensors>    one staging buffer, `read(into)`
 *   load-throughput http|http-reuse <url>        lazy Range reads (fresh buffers | one staging buffer)
 *   load-throughput http-cache <url> <cacheDir>  download into a cache folder, then read from it
 *   load-throughput serve <folder>               a local Range server (prints its URL)
 * Each mode reads every tensor once, in file order, and drops it; run one mode per process so the
 * peak RSS (process.resourceUsage().maxRSS) belongs to that mode alone.
 */
import { openSafetensors } from "../../src/weights/safetensors/lazy-reader.ts";
import { openNodeFileByteSource } from "../../src/weights/safetensors/node-byte-source.ts";
import { openHttpByteSource } from "../../src/weights/sources/http-byte-source.ts";
import { nodeFolderCache } from "../../src/weights/sources/node-cache.ts";
import { urlSource } from "../../src/weights/sources/url-source.ts";
import type { ByteSource } from "../../src/weights/safetensors/byte-source.ts";
import { startRangeServer } from "../../test/weights/helpers/range-server.ts";

/** Reads every tensor once; with `reuse`, into one staging buffer sized for the largest tensor. */
async function readAll(source: ByteSource, where: string, reuse = false): Promise<{ bytes: number; tensors: number }> {
  const st = await openSafetensors(source, where);
  const staging = reuse ? new Uint8Array(Math.max(...[...st.tensors.values()].map((t) => t.byteLength))) : undefined;
  let bytes = st.dataStart;
  for (const t of st.tensors.values()) bytes += (await t.read(staging)).length;
  return { bytes, tensors: st.tensors.size };
}

function report(mode: string, bytes: number, tensors: number, seconds: number): void {
  const rssMB = process.resourceUsage().maxRSS / 1024;
  console.log(`${mode}: ${tensors} tensors, ${(bytes / 1e6).toFixed(0)} MB in ${seconds.toFixed(2)} s = ${(bytes / 1e6 / seconds).toFixed(0)} MB/s, peak RSS ${rssMB.toFixed(0)} MiB`);
}

async function main(argv: string[]): Promise<void> {
  const [mode, target, extra] = argv;
  if (mode === "serve" && target) {
    const server = await startRangeServer(target);
    console.log(server.url);
    return; // keeps running until killed
  }
  if (!target || !["disk", "disk-reuse", "http", "http-reuse", "http-cache"].includes(mode ?? "")) {
    console.error("usage: load-throughput disk|disk-reuse <file> | http <url> | http-cache <url> <cacheDir> | serve <folder>");
    process.exit(2);
  }
  const t0 = performance.now();
  if (mode === "disk" || mode === "disk-reuse") {
    const src = await openNodeFileByteSource(target);
    const r = await readAll(src, target, mode === "disk-reuse");
    await src.close();
    report(mode === "disk" ? "disk (fresh buffer per tensor)" : "disk (one reused staging buffer)", r.bytes, r.tensors, (performance.now() - t0) / 1000);
  } else if (mode === "http" || mode === "http-reuse") {
    const r = await readAll(await openHttpByteSource(target), target, mode === "http-reuse");
    report(mode === "http" ? "http (Range, fresh buffer per tensor)" : "http (Range, one reused staging buffer)", r.bytes, r.tensors, (performance.now() - t0) / 1000);
  } else {
    const base = target.slice(0, target.lastIndexOf("/") + 1);
    const file = target.slice(base.length);
    const source = urlSource(base, { cache: nodeFolderCache(extra) });
    const src = await source.open(file);
    const t1 = performance.now();
    const r = await readAll(src, target, true);
    await src.close?.();
    const t2 = performance.now();
    console.log(`http-cache: ${source.progress.bytesDone} bytes downloaded in ${((t1 - t0) / 1000).toFixed(2)} s, then read from cache in ${((t2 - t1) / 1000).toFixed(2)} s`);
    report("http-cache (total)", r.bytes, r.tensors, (t2 - t0) / 1000);
  }
}

main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exit(1);
});
