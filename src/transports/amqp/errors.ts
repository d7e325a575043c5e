import { abortReasonToError, errorCode, toCommsError } from '../../errors/classify.js';
import {
  type CommsError,
  ConnectError,
  ResponseError,
  TimeoutError,
  UsageError,
} from '../../errors/comms-error.js';

/**
 * amqplib errors -> typed CommsErrors, by the AMQP reply code (a channel or connection close carries it
 * as `code`; a refused handshake only in amqplib's fixed `Handshake terminated by server: 403 (...)`
 * form, from which the number is read) or by the socket's errno. Stable codes: COMMS_ERR_AMQP_<NAME>
 * (COMMS_ERR_AMQP_ACCESS_REFUSED, COMMS_ERR_AMQP_NOT_FOUND, COMMS_ERR_AMQP_NO_ROUTE, ...).
 */

/** AMQP 0-9-1 reply codes (the spec's constants). */
export const REPLY_CODES: Readonly<Record<number, string>> = {
  311: 'CONTENT_TOO_LARGE',
  312: 'NO_ROUTE',
  313: 'NO_CONSUMERS',
  320: 'CONNECTION_FORCED',
  402: 'INVALID_PATH',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
  501: 'FRAME_ERROR',
  502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID',
  504: 'CHANNEL_ERROR',
  505: 'UNEXPECTED_FRAME',
  506: 'RESOURCE_ERROR',
  530: 'NOT_ALLOWED',
  540: 'NOT_IMPLEMENTED',
  541: 'INTERNAL_ERROR',
};

export const ACCESS_HINT = 'check the user, password and vhost in --url / AMQP_URL';

interface AmqpErrorLike {
  code?: unknown;
  message?: string;
}

/** The reply code of an amqplib error: `code` on channel/connection closes, or read from a refused handshake. */
export function replyCodeOf(err: unknown): number | undefined {
  const e = (typeof err === 'object' && err !== null ? err : {}) as AmqpErrorLike;
  if (typeof e.code === 'number') return e.code;
  const m = /^Handshake terminated by server: (\d{3}) /.exec(e.message ?? '');
  if (m) return Number(m[1]);
  // A vhost the user may not open: amqplib reports the close frame it got instead of open-ok.
  if (/^Expected ConnectionOpenOk; got <ConnectionClose/.test(e.message ?? '')) return 530;
  return undefined;
}

/** The broker's own text out of amqplib's message (`NOT_FOUND - no queue 'x' in vhost '/'`). */
export function brokerText(err: unknown): string {
  const message = (err as AmqpErrorLike | undefined)?.message ?? String(err);
  const m = /with message "(.*)"\s*$/s.exec(message);
  return m?.[1] ?? message;
}

export function amqpError(err: unknown, target: string, signal?: AbortSignal): CommsError {
  if (signal?.aborted) return abortReasonToError(signal.reason);
  const code = replyCodeOf(err);
  if (code !== undefined) {
    const name = REPLY_CODES[code] ?? String(code);
    const text = brokerText(err);
    const opts = { cause: err, code: `COMMS_ERR_AMQP_${name}` };
    switch (code) {
      case 403:
        return new ConnectError(
          `${text.startsWith('ACCESS_REFUSED') ? '' : 'ACCESS_REFUSED: '}${text} (${target})`,
          {
            ...opts,
            hint: ACCESS_HINT,
          },
        );
      case 530:
        return new ConnectError(`NOT_ALLOWED: the broker refused the connection (${target})`, {
          ...opts,
          hint: 'does the vhost exist, and may this user open it?',
        });
      case 320:
      case 541:
      case 501:
      case 505:
        return new ConnectError(`${text} (${target})`, opts);
      case 404:
        return new ResponseError(text, {
          ...opts,
          hint: 'declare it first (--declare creates it), or check the name',
        });
      default:
        return new ResponseError(`${name === text.split(' ')[0] ? '' : `${name}: `}${text}`, opts);
    }
  }
  const message = (err as AmqpErrorLike | undefined)?.message ?? '';
  // amqplib's own connect timeout carries no errno.
  if (errorCode(err) === undefined && message === 'connect ETIMEDOUT')
    return new TimeoutError(`connecting to ${target} timed out`, { cause: err });
  if (errorCode(err) === undefined && /^Expected amqp: or amqps:/.test(message))
    return new UsageError(message, { cause: err });
  const typed = toCommsError(err, target, signal);
  if (typed.kind === 'response' && /Socket closed abruptly|Unexpected close|Connection closed/i.test(message))
    return new ConnectError(`${message} (${target})`, { cause: err, code: 'COMMS_ERR_AMQP_CLOSED' });
  return typed;
}
