import { type LoadFlags, parseCount, parseNumber, parseOptionalDuration } from '../cli/options.js';
import { formatMs } from '../core/duration.js';
import { UsageError } from '../errors/comms-error.js';

/** Default length of a run that names neither -n nor --duration (e.g. `--rate 100` alone), as autocannon. */
export const DEFAULT_DURATION_MS = 10_000;
/** Closed-loop default: calls in flight. */
export const DEFAULT_CONCURRENCY = 10;
/** Open-loop default cap on calls in flight: high, so a stalled server shows up as latency, not as a stop. */
export const DEFAULT_OPEN_LOOP_CAP = 1000;

/** A service-level gate: the run fails (exit 1) when `actual` misses `limit`. */
export interface GateSpec {
  /** The figure's name as the summary shows it: p99, p50, errorRate, rps. */
  figure: 'p99' | 'p50' | 'errorRate' | 'rps';
  flag: string;
  /** The flag's text, for messages (`50ms`, `1%`). */
  text: string;
  limit: number;
  /** `max`: actual must be <= limit; `min`: actual must be >= limit. */
  bound: 'max' | 'min';
}

/** The load flags, parsed and checked: what the runner executes. */
export interface LoadPlan {
  /** Measured calls to send (absent: until --duration or Ctrl-C). */
  requests?: number;
  /** Measured phase length in ms (absent: until -n). */
  durationMs?: number;
  /** Closed loop: workers. Open loop: cap on calls in flight. */
  concurrency: number;
  /** Open loop: arrivals per second. Absent: closed loop. */
  rate?: number;
  warmupMs: number;
  gates: GateSpec[];
  /** One NDJSON line per measured call. */
  jsonAll: boolean;
}

/**
 * Turn the raw load flags into a plan, or throw a UsageError naming the bad flag (exit 2, nothing sent).
 * A run needs an end: -n, --duration, or both (first reached wins); with neither, 10 s.
 */
export function planFrom(flags: LoadFlags): LoadPlan {
  const requests = parseCount(flags.requests, '-n/--requests', { min: 1 });
  let durationMs = parseOptionalDuration(flags.duration, '--duration');
  if (durationMs !== undefined && durationMs <= 0)
    throw new UsageError(`invalid --duration '${flags.duration}': must be > 0`);
  const rate = parseNumber(flags.rate, '--rate');
  if (rate !== undefined && rate <= 0)
    throw new UsageError(`invalid --rate '${flags.rate}': must be > 0 calls per second`);
  const concurrencyFlag = parseCount(flags.concurrency, '-c/--concurrency', { min: 1 });
  const warmupMs = parseOptionalDuration(flags.warmup, '--warmup') ?? 0;
  // --connections is read by the transports (pool size); validated here so a typo fails before any load.
  parseCount(flags.connections, '--connections', { min: 1 });
  if (requests === undefined && durationMs === undefined) durationMs = DEFAULT_DURATION_MS;

  const gates: GateSpec[] = [];
  const p99 = parseOptionalDuration(flags.expectP99, '--expect-p99');
  if (p99 !== undefined)
    gates.push({ figure: 'p99', flag: '--expect-p99', text: formatMs(p99), limit: p99, bound: 'max' });
  const p50 = parseOptionalDuration(flags.expectP50, '--expect-p50');
  if (p50 !== undefined)
    gates.push({ figure: 'p50', flag: '--expect-p50', text: formatMs(p50), limit: p50, bound: 'max' });
  const maxErr = parseNumber(flags.maxErrorRate, '--max-error-rate');
  if (maxErr !== undefined) {
    if (maxErr > 100)
      throw new UsageError(`invalid --max-error-rate '${flags.maxErrorRate}': a percentage, 0-100`);
    gates.push({
      figure: 'errorRate',
      flag: '--max-error-rate',
      text: `${maxErr}%`,
      limit: maxErr,
      bound: 'max',
    });
  }
  const minRps = parseNumber(flags.minRps, '--min-rps');
  if (minRps !== undefined)
    gates.push({ figure: 'rps', flag: '--min-rps', text: `${minRps} req/s`, limit: minRps, bound: 'min' });

  return {
    ...(requests !== undefined ? { requests } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    concurrency: concurrencyFlag ?? (rate !== undefined ? DEFAULT_OPEN_LOOP_CAP : DEFAULT_CONCURRENCY),
    ...(rate !== undefined ? { rate } : {}),
    warmupMs,
    gates,
    jsonAll: flags.jsonAll === true,
  };
}
