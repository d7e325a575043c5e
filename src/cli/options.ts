import { type Command, Option } from 'commander';
import { parseValues } from '../command/option.js';
import { parseDuration } from '../core/duration.js';
import { DEFAULT_RESILIENCE, type ResilienceOptions } from '../core/resilience.js';
import { UsageError } from '../errors/comms-error.js';
import { isLoadMode as isLoadValues, LOAD_OPTIONS as LOAD_TABLE, planFrom } from '../load/options.js';
import type { LoadPlan } from '../load/plan.js';
import type { OutputOptions } from '../output/output.js';

/**
 * Shared options, declared once as data (as vitest's cli-config does). Each table is typed against
 * its flags interface, so adding a flag without help text, or forgetting one, fails type-checking.
 * `addOptions` attaches a table to any command; every call command gets the same flags.
 */
export interface OptionSpec {
  flags: string;
  description: string;
  /** Shown in --help as the default; parsing applies defaults itself. */
  defaultDescription?: string;
  /** Repeatable option: values collect into an array. */
  repeatable?: boolean;
  /** For boolean negations like --no-color. */
  negate?: boolean;
}
export type OptionTable<T> = { readonly [K in keyof Required<T>]: OptionSpec };

/** Raw (string) values of the resilience flags, as commander gives them. */
export interface ResilienceFlags {
  timeout?: string;
  maxTime?: string;
  retries?: string;
  backoff?: string;
  backoffMax?: string;
  breaker?: string;
  breakerCooldown?: string;
  breakerState?: string;
}

export const RESILIENCE_OPTIONS: OptionTable<ResilienceFlags> = {
  timeout: {
    flags: '--timeout <dur>',
    description: 'per-attempt timeout (gRPC: the deadline); 0 disables it',
    defaultDescription: '30s',
  },
  maxTime: { flags: '--max-time <dur>', description: 'overall budget across all attempts and waits' },
  retries: {
    flags: '--retries <n>',
    description: 'retries after the first attempt (retryable outcomes only)',
    defaultDescription: '0',
  },
  backoff: {
    flags: '--backoff <dur>',
    description: 'exponential backoff base, full jitter',
    defaultDescription: '200ms',
  },
  backoffMax: {
    flags: '--backoff-max <dur>',
    description: 'cap for one backoff wait (also caps Retry-After)',
    defaultDescription: '10s',
  },
  breaker: { flags: '--breaker <n>', description: 'open the circuit after n consecutive failures' },
  breakerCooldown: {
    flags: '--breaker-cooldown <dur>',
    description: 'time open before one half-open trial',
    defaultDescription: '10s',
  },
  breakerState: {
    flags: '--breaker-state <file>',
    description: 'keep breaker state in a file shared by invocations',
  },
};

export interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: boolean;
  showSecrets?: boolean;
  debug?: boolean;
}

export const OUTPUT_OPTIONS: OptionTable<OutputFlags> = {
  json: { flags: '--json', description: 'one JSON object per line on stdout (NDJSON)' },
  quiet: { flags: '-q, --quiet', description: 'print nothing but errors' },
  verbose: { flags: '-v, --verbose', description: 'headers/metadata, every attempt, full timing' },
  color: { flags: '--no-color', description: 'no colour (also NO_COLOR=1)', negate: true },
  showSecrets: { flags: '--show-secrets', description: 'do not redact Authorization, tokens, passwords' },
  debug: { flags: '--debug', description: 'stack traces on errors (also COMMS_DEBUG=1)' },
};

export interface LoadFlags {
  requests?: string;
  duration?: string;
  concurrency?: string;
  rate?: string;
  warmup?: string;
  connections?: string;
  expectP99?: string;
  expectP50?: string;
  maxErrorRate?: string;
  minRps?: string;
  jsonAll?: boolean;
}

export const LOAD_OPTIONS: OptionTable<LoadFlags> = {
  requests: { flags: '-n, --requests <n>', description: 'load mode: send n calls' },
  duration: { flags: '--duration <dur>', description: 'load mode: keep calling for this long' },
  concurrency: {
    flags: '-c, --concurrency <n>',
    description: 'load mode: calls in flight (closed loop)',
    defaultDescription: '10',
  },
  rate: { flags: '--rate <per-second>', description: 'load mode: open loop at a constant arrival rate' },
  warmup: { flags: '--warmup <dur>', description: 'load mode: run this long before measuring' },
  connections: { flags: '--connections <n>', description: 'load mode: connection pool size (HTTP, gRPC)' },
  expectP99: { flags: '--expect-p99 <dur>', description: 'load mode gate: exit 1 when p99 is slower' },
  expectP50: { flags: '--expect-p50 <dur>', description: 'load mode gate: exit 1 when p50 is slower' },
  maxErrorRate: { flags: '--max-error-rate <pct>', description: 'load mode gate: exit 1 above this error %' },
  minRps: { flags: '--min-rps <n>', description: 'load mode gate: exit 1 below this throughput' },
  jsonAll: { flags: '--json-all', description: 'load mode: with --json, one line per call too' },
};

/** commander argParser for repeatable options (-H, --expect-body...). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Attach a table of options to a command. */
export function addOptions<T>(cmd: Command, table: OptionTable<T>): Command {
  for (const spec of Object.values(table) as OptionSpec[]) {
    const opt = new Option(spec.flags, spec.description);
    if (spec.defaultDescription) opt.default(undefined, spec.defaultDescription);
    if (spec.repeatable) opt.argParser(collect);
    cmd.addOption(opt);
  }
  return cmd;
}

/** The standard set for every call command (http, grpc call, nats publish/request, events dispatch). */
export function addCallOptions(cmd: Command, { load = true }: { load?: boolean } = {}): Command {
  addOptions(cmd, RESILIENCE_OPTIONS);
  if (load) addOptions(cmd, LOAD_OPTIONS);
  return addOptions(cmd, OUTPUT_OPTIONS);
}

export function parseCount(value: string | undefined, flag: string, { min = 0 } = {}): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
    throw new UsageError(`invalid ${flag} '${value}': expected a whole number${min > 0 ? ` >= ${min}` : ''}`);
  }
  return Number(value);
}

export function parseNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replace(/%$/, ''));
  if (value.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new UsageError(`invalid ${flag} '${value}': expected a number`);
  return n;
}

export function parseOptionalDuration(value: string | undefined, flag: string): number | undefined {
  return value === undefined ? undefined : parseDuration(value, flag);
}

export function resilienceFrom(
  flags: ResilienceFlags,
  defaults: Partial<ResilienceOptions> = {},
): ResilienceOptions {
  const base = { ...DEFAULT_RESILIENCE, ...defaults };
  const breaker = parseCount(flags.breaker, '--breaker', { min: 1 });
  if (flags.breakerState !== undefined && breaker === undefined) {
    throw new UsageError('--breaker-state needs --breaker <n> (the failure threshold)');
  }
  const maxTimeMs = parseOptionalDuration(flags.maxTime, '--max-time');
  return {
    timeoutMs: parseOptionalDuration(flags.timeout, '--timeout') ?? base.timeoutMs,
    retries: parseCount(flags.retries, '--retries') ?? base.retries,
    backoffMs: parseOptionalDuration(flags.backoff, '--backoff') ?? base.backoffMs,
    backoffMaxMs: parseOptionalDuration(flags.backoffMax, '--backoff-max') ?? base.backoffMaxMs,
    breakerCooldownMs:
      parseOptionalDuration(flags.breakerCooldown, '--breaker-cooldown') ?? base.breakerCooldownMs,
    ...(maxTimeMs !== undefined ? { maxTimeMs } : {}),
    ...(breaker !== undefined ? { breaker } : {}),
    ...(flags.breakerState ? { breakerStateFile: flags.breakerState } : {}),
  };
}

export function outputFrom(flags: OutputFlags): OutputOptions {
  const debugEnv = process.env.COMMS_DEBUG;
  return {
    json: flags.json === true,
    quiet: flags.quiet === true,
    verbose: flags.verbose === true,
    ...(flags.color === false ? { color: false } : {}),
    showSecrets: flags.showSecrets === true,
    debug: flags.debug === true || (debugEnv !== undefined && debugEnv !== '' && debugEnv !== '0'),
  };
}

/** True when any load-mode flag is present: the call becomes many. */
export function isLoadMode(flags: LoadFlags): boolean {
  return flags.requests !== undefined || flags.duration !== undefined || flags.rate !== undefined;
}

/**
 * Transitional: raw load flags of a command not yet on the option tables, parsed through the load
 * table's own parsers (so both paths accept and reject the same text).
 */
export function legacyLoadPlan(flags: LoadFlags): LoadPlan | undefined {
  const values = parseValues(LOAD_TABLE, { ...flags });
  return isLoadValues(values) ? planFrom(values) : undefined;
}
