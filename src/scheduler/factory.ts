import { EulerAncestralDiscreteScheduler } from "./euler-ancestral.ts";
import { EulerDiscreteScheduler } from "./euler-discrete.ts";
import { FlowMatchEulerDiscreteScheduler } from "./flow-match-euler.ts";
import { LcmScheduler } from "./lcm.ts";
import type { QSchedSpec } from "./qsched.ts";
import { TcdScheduler } from "./tcd.ts";
import type { SchedulerClassName } from "./types.ts";

export type AnyScheduler =
  | LcmScheduler
  | TcdScheduler
  | EulerDiscreteScheduler
  | EulerAncestralDiscreteScheduler
  | FlowMatchEulerDiscreteScheduler;

const CONSTRUCTORS: Record<SchedulerClassName, new (config: Record<string, unknown>) => AnyScheduler> = {
  LCMScheduler: LcmScheduler,
  TCDScheduler: TcdScheduler,
  EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler,
  FlowMatchEulerDiscreteScheduler,
};

export const SCHEDULER_CLASS_NAMES = Object.keys(CONSTRUCTORS) as SchedulerClassName[];

/**
 * Builds the scheduler a diffusers `scheduler_config.json` describes, picked by its `_class_name` (or by
 * `className` when the config has none). Optional Q-Sched coefficients are attached before any `setTimesteps`.
 */
export function createScheduler(
  config: Record<string, unknown>,
  opts: { className?: SchedulerClassName; qsched?: QSchedSpec } = {},
): AnyScheduler {
  const name = (config._class_name ?? opts.className) as string | undefined;
  if (name === undefined) {
    throw new Error(`createScheduler: config has no "_class_name"; pass { className } (one of ${SCHEDULER_CLASS_NAMES.join(", ")})`);
  }
  if (opts.className !== undefined && config._class_name !== undefined && opts.className !== config._class_name) {
    throw new Error(`createScheduler: config _class_name is "${String(config._class_name)}" but className "${opts.className}" was asked for`);
  }
  const Ctor = CONSTRUCTORS[name as SchedulerClassName];
  if (!Ctor) throw new Error(`createScheduler: unsupported scheduler class "${name}"; supported: ${SCHEDULER_CLASS_NAMES.join(", ")}`);
  const scheduler = new Ctor(config);
  if (opts.qsched) scheduler.setQSched(opts.qsched);
  return scheduler;
}
