import type { ResilienceOptions } from '../core/resilience.js';
import { isLoadMode, LOAD_OPTIONS, planFrom } from '../load/options.js';
import type { LoadPlan } from '../load/plan.js';
import type { OutputOptions } from '../output/output.js';
import type { OptionValues } from './option.js';
import { OUTPUT_OPTIONS, outputFrom, RESILIENCE_OPTIONS, resilienceFrom } from './shared-options.js';

/** The options every call command takes: resilience, load mode and output, in that order in --help. */
export const CALL_OPTIONS = { ...RESILIENCE_OPTIONS, ...LOAD_OPTIONS, ...OUTPUT_OPTIONS };
export type CallValues = OptionValues<typeof CALL_OPTIONS>;

/** The shared part of every call command's plan, parsed once at the edge. */
export interface CallSettings {
  resilience: ResilienceOptions;
  /** Present: load mode. */
  load: LoadPlan | undefined;
  output: OutputOptions;
}

export function callSettingsFrom(values: CallValues): CallSettings {
  return {
    resilience: resilienceFrom(values),
    load: isLoadMode(values) ? planFrom(values) : undefined,
    output: outputFrom(values),
  };
}
