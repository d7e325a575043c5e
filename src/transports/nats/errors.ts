import { abortReasonToError, errorCode, toCommsError } from '../../errors/classify.js';
import {
  type CommsError,
  ConnectError,
  ResponseError,
  TimeoutError,
  UsageError,
} from '../../errors/comms-error.js';
import { redactServer } from './connection-options.js';

/**
 * Translates nats.js errors into typed CommsErrors at the boundary, by `name` (never `instanceof`: the
 * classes live in @nats-io packages that may be installed twice). Stable codes scripts can match on:
 * COMMS_ERR_NATS_NO_RESPONDERS, COMMS_ERR_NATS_AUTH, COMMS_ERR_NATS_TIMEOUT, COMMS_ERR_NATS_CONNECT.
 */

interface NamedError {
  name?: string;
  /** JetStreamApiError: the server's numeric API error code (10059 stream not found...). */
  code?: string | number;
  message?: string;
  cause?: unknown;
  isNoResponders?: () => boolean;
}

function named(err: unknown): NamedError {
  return typeof err === 'object' && err !== null ? (err as NamedError) : { message: String(err) };
}

/** True when a request (or a JetStream publish) found nobody subscribed to the subject. */
export function isNoResponders(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; depth < 4 && cur; depth++) {
    const e = named(cur);
    if (typeof e.isNoResponders === 'function' && e.isNoResponders()) return true;
    if (e.name === 'NoRespondersError' || e.name === 'NoResponders') return true;
    cur = e.cause;
  }
  return false;
}

/** JetStream API error codes (nats-server's errors.json) that the commands act on. */
export const JS_API_CODES = { streamNameInUse: 10058, streamNotFound: 10059, streamMismatch: 10060 } as const;

/** True for "stream not found", however nats.js surfaced it (its own class, or the API code). */
export function isStreamNotFound(err: unknown): boolean {
  const e = named(err);
  return e.name === 'StreamNotFoundError' || e.code === JS_API_CODES.streamNotFound;
}

/** True when a stream of that name exists already (another publisher created it first). */
export function isStreamNameInUse(err: unknown): boolean {
  return named(err).code === JS_API_CODES.streamNameInUse;
}

export const AUTH_HINT =
  'check --user/--password, --token, --creds or --nkey (or the credentials in the URL)';

/**
 * Map an error from a NATS operation to a CommsError. `target` is the subject or server (already
 * redacted); `signal` lets an abort say what caused it (--timeout vs Ctrl-C).
 */
export function natsError(err: unknown, target: string, signal?: AbortSignal): CommsError {
  const e = named(err);
  const name = e.name ?? '';
  const message = e.message ?? String(err);
  if (signal?.aborted) return abortReasonToError(signal.reason);
  if (isNoResponders(err)) {
    return new ConnectError(`no responders on '${target}'`, {
      cause: err,
      code: 'COMMS_ERR_NATS_NO_RESPONDERS',
      hint: 'nothing is subscribed to that subject; start a responder (comms-cli nats reply SUBJECT)',
    });
  }
  if (name === 'TimeoutError')
    return new TimeoutError(`no reply on '${target}' in time`, {
      cause: err,
      code: 'COMMS_ERR_NATS_TIMEOUT',
    });
  if (name === 'AuthorizationError' || name === 'UserAuthenticationExpiredError') {
    return new ConnectError(`authorization rejected by ${target}`, {
      cause: err,
      code: 'COMMS_ERR_NATS_AUTH',
      hint: AUTH_HINT,
    });
  }
  if (name === 'PermissionViolationError') {
    return new ConnectError(`permission denied: ${message}`, { cause: err, code: 'COMMS_ERR_NATS_AUTH' });
  }
  if (name === 'InvalidSubjectError' || name === 'InvalidArgumentError')
    return new UsageError(message, { cause: err });
  if (name === 'ClosedConnectionError' || name === 'DrainingConnectionError' || name === 'ConnectionError') {
    const code = errorCode(err);
    if (code) {
      const typed = toCommsError(err, target);
      if (typed.kind === 'connect') return typed;
    }
    return new ConnectError(`${message} (${target})`, { cause: err, code: 'COMMS_ERR_NATS_CONNECT' });
  }
  if (name.startsWith('JetStream'))
    return new ResponseError(`JetStream: ${message}`, { cause: err, code: 'COMMS_ERR_NATS_JETSTREAM' });
  return toCommsError(err, target, signal);
}

/** Turn a failed first connect into one clear line (exit 3), naming the server without secrets. */
export function connectFailure(err: unknown, where: string, timeoutMs?: number): CommsError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: string; message?: string };
  if (e.name === 'AuthorizationError' || e.name === 'UserAuthenticationExpiredError') {
    return new ConnectError(`authorization rejected by ${where}`, {
      cause: err,
      code: 'COMMS_ERR_NATS_AUTH',
      hint: AUTH_HINT,
    });
  }
  const code = errorCode(err);
  if (code === 'ECONNREFUSED') {
    return new ConnectError(`cannot connect to ${where}: connection refused`, {
      cause: err,
      hint: 'is nats-server running there? set -s/--server or NATS_URL',
    });
  }
  if (code) {
    const typed = toCommsError(err, where);
    if (typed.kind === 'connect' || typed.kind === 'timeout') {
      return new ConnectError(`cannot connect to ${where}: ${typed.message.replace(` (${where})`, '')}`, {
        cause: err,
        code: typed.code,
        ...(typed.hint
          ? {
              hint: typed.hint
                .replace('--cacert FILE', '--tls-ca FILE')
                .replace(', or -k/--insecure to skip verification', ''),
            }
          : {}),
      });
    }
  }
  // Last resort, for failures nats.js raises without a code or a class of their own (TLS negotiation:
  // "server does not support TLS"...): the message is only looked at once codes and names said nothing.
  const message = redactServer(e.message ?? String(err));
  if (/tls|certificate|ssl/i.test(message)) {
    return new ConnectError(`cannot connect to ${where}: TLS: ${message}`, {
      cause: err,
      code: 'COMMS_ERR_TLS',
      hint: 'pass the server CA with --tls-ca FILE (and --tls-cert/--tls-key when it asks for a client certificate)',
    });
  }
  if (e.name === 'TimeoutError')
    return new TimeoutError(
      `connect to ${where} timed out${timeoutMs !== undefined ? ` after ${secondsText(timeoutMs)}` : ''}`,
      {
        cause: err,
        code: 'COMMS_ERR_NATS_CONNECT_TIMEOUT',
        hint: 'the server accepted the connection but did not complete the NATS handshake (INFO/CONNECT/PONG): is it a NATS server, and is TLS set up on both sides?',
      },
    );
  return new ConnectError(`cannot connect to ${where}: ${message}`, { cause: err });
}

/** 5000 -> "5s", 1500 -> "1.5s" (connect timeouts in messages). */
function secondsText(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}
