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
 * Builds the scheduler a diffusers `scheduler_config.json` describes, picked by `className` when given (another
 * class's config works, as diffusers' `X.from_config(config)`; keys of other 0.30.3 schedulers are ignored), else by
 * its `_class_name`. Optional Q-Sched coefficients are attached before any `setTimesteps`.
 */
export function createScheduler(
  config: Record<string, unknown>,
  opts: { className?: SchedulerClassName; qsched?: QSchedSpec } = {},
): AnyScheduler {
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`createScheduler: config must be a scheduler_config.json object, found ${JSON.stringify(config)}`);
  }
  // className wins over the config's own class: diffusers' X.from_config(other_scheduler.config) idiom.
  const name = (opts.className ?? config._class_name) as string | undefined;
  if (name === undefined) {
    throw new Error(`createScheduler: config has no "_class_name"; pass { className } (one of ${SCHEDULER_CLASS_NAMES.join(", ")})`);
  }
  const Ctor = CONSTRUCTORS[name as SchedulerClassName];
  if (!Ctor) throw new Error(`createScheduler: unsupported scheduler class "${name}"; supported: ${SCHEDULER_CLASS_NAMES.join(", ")}`);
  const scheduler = new Ctor({ ...config, _class_name: name });
  if (opts.qsched) scheduler.setQSched(opts.qsched);
  return scheduler;
}
