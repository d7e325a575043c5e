import { DEFAULT_RESILIENCE, type ResilienceOptions } from '../core/resilience.js';
import { UsageError } from '../errors/comms-error.js';
import type { OutputOptions } from '../output/output.js';
import { duration, flag, integer, type OptionValues, path } from './option.js';

/** The contract's shared resilience options (every call command). */
export const RESILIENCE_OPTIONS = {
  timeout: duration('--timeout <dur>', 'per-attempt timeout (gRPC: the deadline); 0 disables it', {
    default: DEFAULT_RESILIENCE.timeoutMs,
  }),
  maxTime: duration('--max-time <dur>', 'overall budget across all attempts and waits'),
  retries: integer('--retries <n>', 'retries after the first attempt (retryable outcomes only)', {
    default: DEFAULT_RESILIENCE.retries,
  }),
  backoff: duration('--backoff <dur>', 'exponential backoff base, full jitter', {
    default: DEFAULT_RESILIENCE.backoffMs,
  }),
  backoffMax: duration('--backoff-max <dur>', 'cap for one backoff wait (also caps Retry-After)', {
    default: DEFAULT_RESILIENCE.backoffMaxMs,
  }),
  breaker: integer('--breaker <n>', 'open the circuit after n consecutive failures', { min: 1 }),
  breakerCooldown: duration('--breaker-cooldown <dur>', 'time open before one half-open trial', {
    default: DEFAULT_RESILIENCE.breakerCooldownMs,
  }),
  breakerState: path('--breaker-state <file>', 'keep breaker state in a file shared by invocations'),
};
export type ResilienceValues = OptionValues<typeof RESILIENCE_OPTIONS>;

/** The resilience values as the pipeline takes them; cross-option rules are checked here. */
export function resilienceFrom(values: ResilienceValues): ResilienceOptions {
  if (values.breakerState !== undefined && values.breaker === undefined) {
    throw new UsageError('--breaker-state needs --breaker <n> (the failure threshold)');
  }
  return {
    timeoutMs: values.timeout,
    retries: values.retries,
    backoffMs: values.backoff,
    backoffMaxMs: values.backoffMax,
    breakerCooldownMs: values.breakerCooldown,
    ...(values.maxTime !== undefined ? { maxTimeMs: values.maxTime } : {}),
    ...(values.breaker !== undefined ? { breaker: values.breaker } : {}),
    ...(values.breakerState ? { breakerStateFile: values.breakerState } : {}),
  };
}

/** Output options every command takes. */
export const OUTPUT_OPTIONS = {
  json: flag('--json', 'one JSON object per line on stdout (NDJSON)'),
  quiet: flag('-q, --quiet', 'print nothing but errors'),
  verbose: flag('-v, --verbose', 'headers/metadata, every attempt, full timing'),
  color: flag('--no-color', 'no colour (also NO_COLOR=1)'),
  showSecrets: flag('--show-secrets', 'do not redact Authorization, tokens, passwords'),
  debug: flag('--debug', 'stack traces on errors (also COMMS_DEBUG=1)'),
};
export type OutputValues = OptionValues<typeof OUTPUT_OPTIONS>;

export function outputFrom(values: OutputValues, env: NodeJS.ProcessEnv = process.env): OutputOptions {
  const debugEnv = env.COMMS_DEBUG;
  return {
    json: values.json,
    quiet: values.quiet,
    verbose: values.verbose,
    ...(values.color === false ? { color: false } : {}),
    showSecrets: values.showSecrets,
    debug: values.debug || (debugEnv !== undefined && debugEnv !== '' && debugEnv !== '0'),
  };
}
