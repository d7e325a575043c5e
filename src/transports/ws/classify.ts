/**
 * What the WebSocket transport retries and how it names close codes (RFC 6455 §7.4, IANA registry).
 * A handshake is retried on connection errors, timeouts and these refusal statuses.
 */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

const CLOSE_NAMES: Record<number, string> = {
  1000: 'normal closure',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1005: 'no status received',
  1006: 'abnormal closure',
  1007: 'invalid payload data',
  1008: 'policy violation',
  1009: 'message too big',
  1010: 'mandatory extension',
  1011: 'internal error',
  1012: 'service restart',
  1013: 'try again later',
  1014: 'bad gateway',
  1015: 'TLS handshake',
};

/** `1011 internal error`, `4000` (application codes have no name). */
export function closeName(code: number): string {
  const name = CLOSE_NAMES[code];
  return name ? `${code} ${name}` : String(code);
}

/** A close that ends a session well: normal closure or going away. */
export function isCleanClose(code: number): boolean {
  return code === 1000 || code === 1001;
}

/**
 * A code an endpoint may send in a close frame: 1000-1003, 1007-1014, 3000-4999. 1004-1006 and
 * 1015 are reserved (never sent on the wire); 1016-2999 are unassigned.
 */
export function isSendableCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ||
    (code >= 3000 && code <= 4999)
  );
}
