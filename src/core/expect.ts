import { ExpectationError, UsageError } from '../errors/comms-error.js';
import { failResult, type Result } from './result.js';

/**
 * An expectation over a finished call: returns a failure message naming the expected and the actual
 * value, or undefined when it holds. Transports contribute their own (--expect-status, --expect-body,
 * --expect-json...); `--expect-time` is shared.
 */
export type ResultCheck<R = unknown> = (result: Result, reply: R | undefined) => string | undefined;

/** Run the checks on a completed call; the first that fails turns the result into an expectation failure (exit 1). */
export function applyChecks<R>(result: Result, checks: readonly ResultCheck<R>[], reply?: R): Result {
  // A call that never completed (connect, timeout, breaker) already has the more telling error.
  if (result.error && result.error.kind !== 'response') return result;
  for (const check of checks) {
    const failure = check(result, reply);
    if (failure !== undefined) return failResult(result, new ExpectationError(failure));
  }
  return result;
}

/** Wall time of the whole call: every attempt and every wait between them. */
export function elapsedMs(result: Result): number | undefined {
  if (result.attempts.length === 0) return result.timing?.total;
  let total = 0;
  for (const a of result.attempts) total += a.ms + (a.waitMs ?? 0);
  return total;
}

/** `--expect-time <dur>`: the whole call, retries and waits included (what the caller waited). */
export function expectTime(maxMs: number, flagText: string): ResultCheck {
  return (result) => {
    const total = elapsedMs(result);
    if (total === undefined) return undefined;
    return total > maxMs ? `expected time <= ${flagText}, took ${total.toFixed(1)}ms` : undefined;
  };
}

/**
 * `/regex/flags` or a plain substring, as --expect-body and --expect-header take it.
 * @returns a tester and the text to show in failure messages.
 */
export function textMatcher(spec: string, flag: string): { test(s: string): boolean; show: string } {
  const m = /^\/(.*)\/([dgimsuy]*)$/s.exec(spec);
  if (m) {
    let re: RegExp;
    try {
      re = new RegExp(m[1] ?? '', m[2]);
    } catch (err) {
      throw new UsageError(`invalid regular expression in ${flag} '${spec}': ${(err as Error).message}`);
    }
    return { test: (s) => re.test(s), show: spec };
  }
  return { test: (s) => s.includes(spec), show: JSON.stringify(spec) };
}
