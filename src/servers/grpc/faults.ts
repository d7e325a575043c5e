import { setTimeout as sleep } from 'node:timers/promises';
import type { Metadata } from '@grpc/grpc-js';
import { parseDuration } from '../../core/duration.js';
import { statusCodeOf } from '../../transports/grpc/status-codes.js';

/** Server-wide fault settings (`serve grpc --fail-rate --fail-code --delay`). */
export interface FaultOptions {
  /** 0..1: share of calls that fail with `failCode`. */
  failRate?: number;
  /** Status code for --fail-rate failures (default UNAVAILABLE). */
  failCode?: number;
  /** Delay before every call is handled. */
  delayMs?: number;
}

/** A fault header the server cannot read: answered INVALID_ARGUMENT naming it, never ignored. */
export class BadFaultHeader extends Error {}

/** Distinct x-key counters kept; the oldest is dropped beyond this, so the map cannot grow without bound. */
const MAX_KEYS = 10_000;

/** What to do with one call: wait, then maybe fail. */
export interface FaultDecision {
  delayMs: number;
  fail?: { code: number; message: string; retryAfterMs?: number };
}

const UNAVAILABLE = 14;

function header(md: Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/**
 * Per-call fault control so a test can ask for exactly the failure it needs:
 * - `x-delay: 200ms` waits before answering (added to --delay);
 * - `x-fail: CODE` fails with that status (name or number);
 * - `x-fail-times: N` with `x-key: K` fails only the first N calls carrying that key (then succeeds),
 *   using `x-fail` as the code (default UNAVAILABLE);
 * - `x-fail-message: TEXT` replaces the status message of an injected failure;
 * - `x-retry-after: 300ms` puts a google.rpc.RetryInfo with that delay in the failure's details;
 * - otherwise `--fail-rate` fails that share of calls with `--fail-code`.
 */
export class FaultInjector {
  readonly #options: FaultOptions;
  readonly #seen = new Map<string, number>();

  constructor(options: FaultOptions = {}) {
    this.#options = options;
  }

  decide(md: Metadata): FaultDecision {
    const delayText = header(md, 'x-delay');
    let delayMs = this.#options.delayMs ?? 0;
    if (delayText) {
      try {
        delayMs += parseDuration(delayText, 'x-delay');
      } catch {
        // A bad x-delay is ignored rather than failing the call: the server stays predictable.
      }
    }
    const retryText = header(md, 'x-retry-after');
    let retryAfterMs: number | undefined;
    if (retryText) {
      try {
        retryAfterMs = parseDuration(retryText, 'x-retry-after');
      } catch {
        retryAfterMs = undefined;
      }
    }
    const failText = header(md, 'x-fail');
    const requested = failText !== undefined ? statusCodeOf(failText.trim()) : undefined;
    if (failText !== undefined && requested === undefined)
      throw new BadFaultHeader(
        `invalid x-fail '${failText}': expected a status name (UNAVAILABLE) or number 0-16`,
      );
    const timesText = header(md, 'x-fail-times');
    const failMessage = header(md, 'x-fail-message');
    const extra = retryAfterMs !== undefined ? { retryAfterMs } : {};
    if (timesText !== undefined) {
      if (!/^\d+$/.test(timesText.trim()))
        throw new BadFaultHeader(`invalid x-fail-times '${timesText}': expected a whole number`);
      const times = Number(timesText);
      const key = header(md, 'x-key') ?? '';
      const n = (this.#seen.get(key) ?? 0) + 1;
      // Counting stops past `times` (later calls succeed either way), and old keys are dropped.
      if (n <= times + 1) {
        this.#seen.delete(key);
        this.#seen.set(key, n);
        if (this.#seen.size > MAX_KEYS) this.#seen.delete(this.#seen.keys().next().value as string);
      }
      if (n <= times) {
        return {
          delayMs,
          fail: {
            code: requested ?? UNAVAILABLE,
            message: failMessage ?? `injected failure ${n} of ${times} (x-fail-times)`,
            ...extra,
          },
        };
      }
      return { delayMs };
    }
    if (requested !== undefined && requested !== 0)
      return {
        delayMs,
        fail: { code: requested, message: failMessage ?? 'injected failure (x-fail)', ...extra },
      };
    const rate = this.#options.failRate ?? 0;
    if (rate > 0 && Math.random() < rate) {
      return {
        delayMs,
        fail: {
          code: this.#options.failCode ?? UNAVAILABLE,
          message: 'injected failure (--fail-rate)',
          ...extra,
        },
      };
    }
    return { delayMs };
  }
}

/** Wait `ms`, cut short when the call is cancelled (the client gave up or the deadline passed). */
export async function delay(
  ms: number,
  cancelled: { on(event: 'cancelled', cb: () => void): unknown },
): Promise<boolean> {
  if (ms <= 0) return true;
  const ac = new AbortController();
  cancelled.on('cancelled', () => ac.abort());
  try {
    await sleep(ms, undefined, { signal: ac.signal });
    return true;
  } catch {
    return false;
  }
}
