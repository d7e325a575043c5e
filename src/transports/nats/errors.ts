import { abortReasonToError, errorCode, toCommsError } from '../../errors/classify.js';
import {
  type CommsError,
  ConnectError,
  ResponseError,
  TimeoutError,
  UsageError,
} from '../../errors/comms-error.js';

/**
 * Translates nats.js errors into typed CommsErrors at the boundary, by `name` (never `instanceof`: the
 * classes live in @nats-io packages that may be installed twice). Stable codes scripts can match on:
 * COMMS_ERR_NATS_NO_RESPONDERS, COMMS_ERR_NATS_AUTH, COMMS_ERR_NATS_TIMEOUT, COMMS_ERR_NATS_CONNECT.
 */

interface NamedError {
  name?: string;
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
    if (typeof e.message === 'string' && /^no responders/.test(e.message)) return true;
    cur = e.cause;
  }
  return false;
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
