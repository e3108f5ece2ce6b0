#!/bin/bash
# Runs correctness checks and benchmarks on a GPU machine without npm, from a pack made by pack.mjs:
#   bash scripts/offline-bench/run.sh [steps] [pack]     (in the repo root; steps default verify,demo,kernels,models)
# Steps: features (adapter features and limits), verify (qsched-gpu verify on the packed ops oracle and the shipped
# fixtures), demo (the toy, f32 and W4A8), kernels (dist/bench/run.js --no-browser $KERNELS_ARGS), sweep (matmul
# variants, gemm-variants.js $SWEEP_ARGS, then the one-row GEMVs), convs (conv kernels unsplit and split along K,
# and Winograd, with tfjs: conv-kernels.js $CONV_ARGS), attention (the tiled kernel's query tiles: shared, restaged, storage;
# attention-kernels.js $ATTN_ARGS), overhead (per-call wall time of a tiny linear, ours and the peers: overhead.js),
# models (SD-Turbo UNet step, float/W8A8/W4A8, if its config was packed).
# Output: $OUT (default ./offline-out): log.txt, the demo images, the bench JSON. BUDGET (s, default 540) caps the
# whole run: steps that would start after it are skipped, a running one is stopped at it.
set -u
cd "$(dirname "$0")/../.."
STEPS=${1:-verify,demo,kernels,models}
PACK=${2:-.offline/pack.tar.xz}
OUT=${OUT:-$PWD/offline-out}
mkdir -p "$OUT"
LOG=$OUT/log.txt
T0=$SECONDS
DEADLINE=$((T0 + ${BUDGET:-540}))
log() { echo "=== $(date -u +%T) $*" | tee -a "$LOG"; }
step() { # step <timeout s> <command…>
  local t=$1; shift
  local left=$((DEADLINE - SECONDS))
  if ((left < 15)); then log "skipped (budget): $*"; return; fi
  ((t > left)) && t=$left
  log "[≤ ${t}s] $*"
  local s=$SECONDS
  timeout "$t" "$@" 2>&1 | grep -v "artificially reduced" | tee -a "$LOG" | tail -"${TAIL:-6}"
  log "exit ${PIPESTATUS[0]} after $((SECONDS - s)) s"
}

[ -f "$PACK" ] || { echo "run.sh: no pack at $PACK (make one with scripts/offline-bench/pack.mjs)" >&2; exit 1; }
tar -xJf "$PACK" || exit 1
log "unpacked $PACK"
if ! ldconfig -p | grep -q libvulkan.so.1; then
  ls .offline/debs/*.deb >/dev/null 2>&1 || { echo "run.sh: no Vulkan loader here and none packed (pack.mjs --vulkan-loader)" >&2; exit 1; }
  for f in .offline/debs/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
export PATH=$PWD/.offline/bin:$PATH
# The GPU's Vulkan driver: VK_ICD_FILENAMES if set, else NVIDIA's usual places.
ICD=${VK_ICD_FILENAMES:-$(ls /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json 2>/dev/null | head -1)}
[ -n "$ICD" ] || { echo "run.sh: no Vulkan ICD found; set VK_ICD_FILENAMES" >&2; exit 1; }
export VK_ICD_FILENAMES=$ICD VK_DRIVER_FILES=$ICD QSCHED_ADAPTER=system
log "ICD $ICD, node $(node -v)"
command -v nvidia-smi >/dev/null && nvidia-smi -L | tee -a "$LOG"

if [[ $STEPS == *features* ]]; then
  TAIL=3 step 30 node --input-type=module -e '
    import { create, globals } from "webgpu";
    Object.assign(globalThis, globals);
    const a = await create([]).requestAdapter({ powerPreference: "high-performance" });
    console.log("features:", [...a.features].sort().join(" "));
    console.log("info:", JSON.stringify(a.info));
    const l = {}; for (const k in a.limits) l[k] = a.limits[k]; console.log("limits:", JSON.stringify(l));
    process.exit(0);'
fi
if [[ $STEPS == *verify* ]]; then
  for dir in .offline/golden/*/ test/fixtures/golden/*/; do
    [ -f "$dir/manifest.json" ] && TAIL=2 step 120 node dist/cli/qsched-gpu.js verify "$dir" --quiet
  done
fi
if [[ $STEPS == *demo* ]]; then
  TAIL=10 step 60 node dist/cli/demo.js --out "$OUT/demo.png"
  TAIL=10 step 60 node dist/cli/demo.js --quant w4a8 --out "$OUT/demo-w4a8.png"
  rm -f "$OUT"/*.x8.png
fi
if [[ $STEPS == *sweep* ]]; then
  TAIL=100 step 240 node dist/bench/gemm-variants.js ${SWEEP_ARGS:---shapes=4096x320x1280,1024x640x2560,4096x320x320,77x1024x320,1024x640x640,256x1280x1280,256x5120x1280,64x1280x1280 --variants=regs4x4v4,t64x128k16r8v/s1,t64x128k16r8v/s2,t64x128k16r8v --dtypes=f32 --int=auto,dot4}
  # One-row linears (time embeddings): a thread per column against a workgroup per 8 columns.
  TAIL=12 step 90 node dist/bench/gemm-variants.js --shapes=1x320x1280,1x1280x1280,1x1280x320 --variants=gemv,gemvWg --dtypes=f32 --int=none
fi
if [[ $STEPS == *convs* ]]; then
  TAIL=40 step 240 node dist/bench/conv-kernels.js ${CONV_ARGS:---kernels=igemm/s1,igemm/s2,igemm,winograd}
fi
if [[ $STEPS == *attention* ]]; then
  # The rows kernel too (1 and 2 queries per thread, no workgroup memory): it is what a GPU with WebGPU's default 16 KiB
  # of workgroup memory runs at d40/d64 (the tiled kernel needs 16.75 KiB there), and untimed on any GPU so far.
  TAIL=40 step 180 node dist/bench/attention-kernels.js ${ATTN_ARGS:---rows=1,2 --queries=shared,restaged,storage --shapes=4096x4096x5x64,1024x1024x10x64,4096x77x5x64,1024x1024x8x80}
fi
if [[ $STEPS == *overhead* ]]; then
  TAIL=6 step 60 node dist/bench/overhead.js --reps=50
fi
if [[ $STEPS == *kernels* ]]; then
  TAIL=40 step 240 node dist/bench/run.js --no-browser ${KERNELS_ARGS:---reps=20}
  cp kernels-bench/results/*.json "$OUT"/ 2>/dev/null
fi
if [[ $STEPS == *models* ]]; then
  unet=.offline/configs/stabilityai--sd-turbo/unet
  if [ -d $unet ]; then
    for q in float W8A8 W4A8; do
      TAIL=3 step 150 env QSCHED_ROOT="$PWD" node --max-old-space-size=16384 dist/bench/models-run.js --model sd-turbo --quant $q --dir $unet --steps 3
    done
    tar -czf "$OUT/models-results.tgz" bench/models/results/sd-turbo-*.json 2>/dev/null
  else
    log "models: no $unet in the pack (pack.mjs --configs <configs>/stabilityai--sd-turbo)"
  fi
fi
log "done after $((SECONDS - T0)) s"
