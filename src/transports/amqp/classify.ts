import type { Verdict } from '../../core/transport.js';
import {
  type CommsError,
  ConnectError,
  InterruptedError,
  ResponseError,
  TimeoutError,
} from '../../errors/comms-error.js';
import { type AmqpCall, type AmqpReply, SERVICE_ERROR, SERVICE_ERROR_CODE } from './call.js';

/**
 * What AMQP retries, written out: a request that timed out or found no route (nobody's queue is
 * bound: the AMQP form of "no responders"), and any call whose connection never came up. A publish
 * batch is not retried once messages may have gone out; refused credentials, 404s and nacks never are.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['COMMS_ERR_AMQP_NO_ROUTE']);
export const NEVER_RETRIED: ReadonlySet<string> = new Set([
  'COMMS_ERR_AMQP_ACCESS_REFUSED',
  'COMMS_ERR_AMQP_NOT_ALLOWED',
  'COMMS_ERR_TLS',
]);

export function classify(outcome: { reply?: AmqpReply; error?: CommsError }, call: AmqpCall): Verdict {
  const r = outcome.reply;
  if (r) {
    if (r.op === 'request') {
      const code = r.headers?.[SERVICE_ERROR_CODE];
      if (code !== undefined) {
        const why = r.headers?.[SERVICE_ERROR];
        const error = new ResponseError(`service error ${String(code)}${why ? `: ${String(why)}` : ''}`, {
          code: 'COMMS_ERR_AMQP_SERVICE',
        });
        return {
          ok: false,
          retryable: false,
          peerFault: false,
          error,
          status: `service error ${String(code)}`,
        };
      }
      return { ok: true, retryable: false, peerFault: false, status: 'reply' };
    }
    if (r.stopped) {
      const message = `${r.stopped.message} after publishing ${r.count} message${r.count === 1 ? '' : 's'}`;
      const error =
        r.stopped.kind === 'timeout'
          ? new TimeoutError(message, { cause: r.stopped })
          : new InterruptedError(message, { cause: r.stopped });
      return { ok: false, retryable: false, peerFault: false, error, status: r.stopped.kind };
    }
    if (r.returned.length > 0) {
      const first = r.returned[0] as (typeof r.returned)[number];
      const where =
        first.exchange === ''
          ? `queue '${first.routingKey}'`
          : `exchange '${first.exchange}' with routing key '${first.routingKey}'`;
      const error = new ConnectError(
        `${r.returned.length} of ${r.count} message${r.count === 1 ? '' : 's'} unroutable: ${first.replyCode} ${first.replyText} (${where})`,
        {
          code: 'COMMS_ERR_AMQP_NO_ROUTE',
          hint: 'no queue is bound for that routing key (or the queue does not exist)',
        },
      );
      return { ok: false, retryable: false, peerFault: false, error, status: 'unroutable' };
    }
    if (r.nacked > 0) {
      const error = new ResponseError(
        `the broker nacked ${r.nacked} of ${r.count} message${r.count === 1 ? '' : 's'}`,
        {
          code: 'COMMS_ERR_AMQP_NACK',
          hint: 'a queue limit (x-max-length with reject-publish) or an internal broker error refused it',
        },
      );
      return { ok: false, retryable: false, peerFault: true, error, status: 'nacked' };
    }
    return { ok: true, retryable: false, peerFault: false, status: 'confirmed' };
  }
  const error = outcome.error as CommsError;
  return { ok: false, ...retryability(error, call), error, status: statusOf(error) };
}

function retryability(error: CommsError, call: AmqpCall): { retryable: boolean; peerFault: boolean } {
  if (NEVER_RETRIED.has(error.code)) return { retryable: false, peerFault: false };
  if (RETRYABLE_CODES.has(error.code)) return { retryable: call.op === 'request', peerFault: true };
  if (error.kind === 'timeout') return { retryable: call.op === 'request', peerFault: true };
  if (error.kind === 'connect') {
    // A batch is retried only when nothing can have gone out: the connection never came up.
    return { retryable: call.op === 'request' || error.code === 'COMMS_ERR_CONNECT', peerFault: true };
  }
  return { retryable: false, peerFault: false };
}

function statusOf(error: CommsError): string {
  const m = /^COMMS_ERR_AMQP_([A-Z_]+)$/.exec(error.code);
  if (m?.[1]) return m[1];
  return error.kind;
}
