/** What the SSE transport retries (as the EventSource spec reconnects on network errors; plus these statuses). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** The EventSource default reconnection time before the server sends `retry:`. */
export const DEFAULT_RETRY_MS = 3_000;

export function isEventStream(contentType: string): boolean {
  return /^\s*text\/event-stream\s*(;|$)/i.test(contentType);
}
