/**
 * lavapipe (Mesa's CPU Vulkan driver) hands every dispatch to its worker threads and waits for them. For a model as
 * small as the embedded toy that handoff costs more than the second core gains: with LP_NUM_THREADS=0 (the queue
 * thread runs the work itself) a warm toy image took 0.14 s against 0.17–0.19 s, and the default calibration 40 s
 * against 52 s, with bit-identical results (2 cores). The driver reads the variable when it starts, so the CLIs set
 * it before creating a device: only for the embedded toy, and only when the user has not set it. Other drivers
 * ignore it; real checkpoints keep every core.
 */
export function singleThreadLavapipeForToy(): boolean {
  if (process.env.LP_NUM_THREADS !== undefined) return false;
  process.env.LP_NUM_THREADS = "0";
  return true;
}

/** What the CLIs print when they set it. */
export const TOY_THREADS_NOTE = "on lavapipe, worker threads off for the small toy model (LP_NUM_THREADS=0; set LP_NUM_THREADS to override)";
