import type { Result } from '../core/result.js';
import type { ErrorKind } from '../errors/comms-error.js';
import { type ExitCode, worstExitCode } from '../errors/exit-codes.js';
import {
  type LatencyBin,
  LatencyHistogram,
  type LatencySummary,
  NO_LATENCY,
  type NoLatency,
} from './histogram.js';

/** Aggregates of a run, in fixed memory: counters, small maps keyed by status/kind, one histogram. */
export interface LoadTotals {
  requests: number;
  successes: number;
  errors: number;
  /** Errors as a percentage of requests (0-100). */
  errorRate: number;
  rps: number;
  bytes: number;
  bytesPerSec: number;
  durationMs: number;
  /** NO_LATENCY when no call completed. */
  latency: LatencySummary | NoLatency;
  /** Calls per final status (HTTP number, gRPC code name, NATS outcome), successes included. */
  statuses: Record<string, number>;
  /** Failed calls per error kind (connect, timeout, response, expectation, breaker...). */
  errorKinds: Partial<Record<ErrorKind, number>>;
  /** Attempts made in all (first tries, retries, short-circuited tries). */
  attempts: number;
  /** Attempts after the first of a call that reached the transport. */
  retries: number;
  /** Attempts the open circuit breaker refused (nothing sent). */
  shortCircuits: number;
  /** Calls cut off by Ctrl-C: left out of every other figure. */
  interrupted: number;
}

/**
 * Running totals of a load run. `record` is on the hot path: counters and one histogram insert, no
 * per-call allocation kept, so a 1,000,000-call run uses the same memory as a 10-call one.
 */
export class LoadStats {
  readonly histogram = new LatencyHistogram();
  /**
   * Latencies reach `histogram` another way (an IntervalRecorder built on it adds each closed
   * interval): `record` only counts. The measured phase of a run does this; a warm-up does not.
   */
  readonly #latencyByIntervals: boolean;

  constructor(options: { latencyByIntervals?: boolean } = {}) {
    this.#latencyByIntervals = options.latencyByIntervals ?? false;
  }
  requests = 0;
  successes = 0;
  bytes = 0;
  attempts = 0;
  retries = 0;
  shortCircuits = 0;
  interrupted = 0;
  /** Errors since the start, for the progress line. */
  errors = 0;
  readonly #statuses = new Map<string, number>();
  /** The last status counted, and its count so far (#statuses holds it only after #flushStatus). */
  #lastStatus: string | number | undefined;
  #lastStatusCount = 0;
  readonly #kinds = new Map<ErrorKind, number>();
  readonly #exits = new Set<ExitCode>();
  /** The first message seen per error kind: enough to tell what went wrong, bounded by the kinds. */
  readonly #firstErrors = new Map<ErrorKind, string>();

  /** Count one finished call whose latency (ms) was measured by the runner. */
  record(result: Result, latencyMs: number, bytes: number): void {
    if (result.error?.kind === 'interrupted') {
      this.interrupted += 1;
      return;
    }
    this.requests += 1;
    if (!this.#latencyByIntervals) this.histogram.record(latencyMs);
    this.bytes += bytes;
    const attempts = result.attempts;
    this.attempts += attempts.length;
    for (let i = 0; i < attempts.length; i++) {
      const a = attempts[i];
      if (a?.error?.kind === 'breaker') this.shortCircuits += 1;
      else if (i > 0) this.retries += 1;
    }
    const status = result.status;
    if (status !== undefined) {
      // Nearly every call of a run has the status of the one before: count it without a Map lookup.
      if (status === this.#lastStatus) this.#lastStatusCount += 1;
      else this.#countStatus(status);
    }
    if (result.ok) {
      this.successes += 1;
      return;
    }
    this.errors += 1;
    const kind = result.error?.kind ?? 'response';
    this.#kinds.set(kind, (this.#kinds.get(kind) ?? 0) + 1);
    if (!this.#firstErrors.has(kind))
      this.#firstErrors.set(kind, result.error?.message ?? `status ${result.status}`);
    this.#exits.add(result.exit);
  }

  /** Switch the one-entry count in front of #statuses to `status` (its earlier count folded in). */
  #countStatus(status: string | number): void {
    this.#flushStatus();
    const key = String(status);
    this.#lastStatus = status;
    this.#lastStatusCount = (this.#statuses.get(key) ?? 0) + 1;
  }

  #flushStatus(): void {
    if (this.#lastStatus !== undefined) this.#statuses.set(String(this.#lastStatus), this.#lastStatusCount);
  }

  /** The most telling exit code among failed calls (0 when none failed). */
  worstExit(): ExitCode {
    return worstExitCode(this.#exits);
  }

  totals(durationMs: number): LoadTotals {
    this.#flushStatus();
    const secs = durationMs / 1000;
    return {
      requests: this.requests,
      successes: this.successes,
      errors: this.errors,
      errorRate: this.requests === 0 ? 0 : round(100 * (this.errors / this.requests), 4),
      rps: secs > 0 ? round(this.requests / secs, 1) : 0,
      bytes: this.bytes,
      bytesPerSec: secs > 0 ? Math.round(this.bytes / secs) : 0,
      durationMs: round(durationMs, 3),
      latency: this.requests === 0 ? NO_LATENCY : this.histogram.summary(),
      statuses: Object.fromEntries([...this.#statuses].sort((a, b) => b[1] - a[1])),
      errorKinds: Object.fromEntries(this.#kinds),
      attempts: this.attempts,
      retries: this.retries,
      shortCircuits: this.shortCircuits,
      interrupted: this.interrupted,
    };
  }

  /** Per error kind, the first message seen (for the human summary). */
  firstErrors(): ReadonlyMap<ErrorKind, string> {
    return this.#firstErrors;
  }

  bins(n: number): LatencyBin[] {
    return this.histogram.bins(n);
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
