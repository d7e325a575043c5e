import {
  BreakerOpenError,
  CommsError,
  ConnectError,
  InterruptedError,
  LocalError,
  ResponseError,
  TimeoutError,
  UsageError,
} from './comms-error.js';

/**
 * Turns foreign errors (Node system errors, undici, cockatiel, NATS, gRPC) into typed CommsErrors.
 * Matching is by `code` / `name`, never `instanceof` across packages: Node's bundled undici and the npm
 * copy are different classes, and the same is true of any dependency installed twice.
 */

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EPIPE',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_SOCKET_CLOSED',
]);

/** OpenSSL / Node certificate codes: a handshake or verification failure. */
const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** comms-cli's own resources ran out: its fault, never the peer's (exit 6). */
const LOCAL_CODES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EMFILE: 'too many open files (raise ulimit -n, or lower -c/--connections)',
  ENFILE: 'too many open files in the system',
  EROFS: 'read-only file system',
  ERR_STRING_TOO_LONG: 'the response is too large to hold as text (write it with -o instead)',
};

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);

interface ErrorLike {
  name?: string;
  code?: string | number;
  message?: string;
  cause?: unknown;
  reason?: unknown;
}

function asErrorLike(err: unknown): ErrorLike {
  return typeof err === 'object' && err !== null ? (err as ErrorLike) : { message: String(err) };
}

/** The first error code found walking the `cause` chain (undici wraps system errors). */
export function errorCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur; depth++) {
    const e = asErrorLike(cur);
    if (typeof e.code === 'string' && e.code !== '') return e.code;
    cur = e.cause;
  }
  return undefined;
}

const TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

function tlsHint(code: string): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return 'the certificate does not name this host; use --servername, or -k to skip verification';
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO')
    return 'the peer may not speak TLS on this port (try http:// or plaintext)';
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID')
    return "the certificate is outside its validity dates: renew it (or check this machine's clock)";
  // Only a certificate nobody here trusts is helped by a CA; an alert or protocol failure is not.
  if (TRUST_CODES.has(code)) return 'pass the CA with --cacert FILE, or -k/--insecure to skip verification';
  return 'the TLS handshake failed: check the port, the protocol the server expects, and --cert/--key';
}

/** Why a signal was aborted, as a typed error: Ctrl-C, or a timeout we armed ourselves. */
export function abortReasonToError(reason: unknown): CommsError {
  if (reason instanceof CommsError) return reason;
  const e = asErrorLike(reason);
  if (e.name === 'TimeoutError') return new TimeoutError('timed out', { cause: reason });
  return new InterruptedError('interrupted', { cause: reason });
}

/**
 * Map any thrown value to a CommsError. `target` names what we were talking to, for the message.
 * `signal` lets an abort be reported as what caused it (timeout vs Ctrl-C) instead of "aborted".
 */
export function toCommsError(err: unknown, target?: string, signal?: AbortSignal): CommsError {
  if (err instanceof CommsError) return err;
  const e = asErrorLike(err);
  const code = errorCode(err) ?? '';
  const where = target ? ` (${target})` : '';
  const message = e.message ?? String(err);

  const brand = err as {
    isBrokenCircuitError?: boolean;
    isIsolatedCircuitError?: boolean;
    isTaskCancelledError?: boolean;
  };
  if (brand.isBrokenCircuitError || brand.isIsolatedCircuitError || e.name === 'BrokenCircuitError') {
    return new BreakerOpenError(`circuit breaker is open${where}: not sent`, {
      cause: err,
      hint: 'wait for --breaker-cooldown, or remove the --breaker-state file',
    });
  }
  if (
    e.name === 'AbortError' ||
    code === 'ABORT_ERR' ||
    code === 'UND_ERR_ABORTED' ||
    brand.isTaskCancelledError
  ) {
    if (signal?.aborted) return abortReasonToError(signal.reason);
    return abortReasonToError(e.cause ?? e.reason ?? err);
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new TimeoutError(`connect timed out${where}`, { cause: err, code: 'COMMS_ERR_CONNECT_TIMEOUT' });
  }
  const local = LOCAL_CODES[code];
  if (local !== undefined)
    return new LocalError(`comms-cli could not do its part: ${local}${where}`, { cause: err });
  if (err instanceof RangeError && /call stack|string length|Array buffer allocation/i.test(message)) {
    return new LocalError(`comms-cli hit its own limit: ${message}`, { cause: err });
  }
  if (TIMEOUT_CODES.has(code)) {
    return new TimeoutError(`timed out${where}: ${message}`, { cause: err, code: `COMMS_ERR_TIMEOUT` });
  }
  if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return new ConnectError(`TLS handshake failed${where}: ${message}`, {
      cause: err,
      code: 'COMMS_ERR_TLS',
      hint: tlsHint(code),
    });
  }
  if (CONNECT_CODES.has(code)) {
    const hint = code === 'ECONNREFUSED' ? 'is the server running and listening on that port?' : undefined;
    const text =
      code === 'ECONNREFUSED'
        ? 'connection refused'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME'
          ? 'could not resolve host'
          : message;
    return new ConnectError(`${text}${where}`, { cause: err, hint, code: `COMMS_ERR_CONNECT` });
  }
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
    return new UsageError(message, { cause: err });
  }
  return new ResponseError(message || 'unknown error', { cause: err });
}
