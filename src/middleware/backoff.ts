/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * wait a uniform random time in [0, min(cap, base * 2^(attempt-1))]. Full jitter spreads retries of
 * many clients best. A server's own hint (Retry-After, gRPC RetryInfo) wins when it asks for longer,
 * but never beyond the cap, so `--backoff-max` bounds every wait.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = random() * ceiling;
  const wanted = retryAfterMs !== undefined ? Math.max(jittered, retryAfterMs) : jittered;
  return Math.max(0, Math.min(capMs, Math.round(wanted)));
}
