import type { Outcome, Verdict } from '../../core/transport.js';
import { type CommsError, InterruptedError, ResponseError, TimeoutError } from '../../errors/comms-error.js';
import type { NatsCall, NatsReply } from './call.js';
import { visible } from './subject.js';

/**
 * What the NATS transport retries, written out: timeouts and connection failures (no responders,
 * refused, dropped), because the peer may be back on the next attempt. Never: rejected credentials or
 * TLS (they fail the same way every time), bad input, or a service error reply (the handler answered).
 * A core publish batch has no acknowledgement, so it is retried only when nothing can have gone out.
 */
export const NEVER_RETRIED_CODES: ReadonlySet<string> = new Set(['COMMS_ERR_NATS_AUTH', 'COMMS_ERR_TLS']);
export const RETRIED_KINDS: ReadonlySet<CommsError['kind']> = new Set(['timeout', 'connect']);
/** A core batch is retried on these connect codes only: the connection never came up. */
export const PUBLISH_NOT_RETRIED_CODES: ReadonlySet<string> = new Set(['COMMS_ERR_NATS_CONNECT']);

/** The micro services convention: a handler error comes back as a reply with these headers. */
export const SERVICE_ERROR_CODE_HEADER = 'Nats-Service-Error-Code';
export const SERVICE_ERROR_HEADER = 'Nats-Service-Error';

/** The only place that decides whether a NATS outcome succeeded and whether it is worth another attempt. */
export function classify(outcome: Outcome<NatsReply>, call: NatsCall): Verdict {
  if (outcome.reply) {
    const r = outcome.reply;
    if (r.op === 'request') {
      const code = r.headers?.get(SERVICE_ERROR_CODE_HEADER);
      if (code) {
        const error = new ResponseError(
          // Both headers come from the peer: control characters escaped before they reach a terminal.
          visible(`service error ${code}: ${r.headers?.get(SERVICE_ERROR_HEADER) ?? ''}`.trim()),
          { code: 'COMMS_ERR_NATS_SERVICE' },
        );
        return {
          ok: false,
          retryable: false,
          peerFault: false,
          error,
          status: visible(`service error ${code}`),
        };
      }
      return { ok: true, retryable: false, peerFault: false, status: 'reply' };
    }
    if (r.op === 'publish') {
      if (r.stopped) {
        const message = `${r.stopped.message} after publishing ${r.count} message${r.count === 1 ? '' : 's'}`;
        const error =
          r.stopped.kind === 'timeout'
            ? new TimeoutError(message, { cause: r.stopped })
            : new InterruptedError(message, { cause: r.stopped });
        return { ok: false, retryable: false, peerFault: false, error, status: r.stopped.kind };
      }
      return { ok: true, retryable: false, peerFault: false, status: 'published' };
    }
    return { ok: true, retryable: false, peerFault: false, status: r.duplicate ? 'duplicate' : 'stored' };
  }
  const error = outcome.error;
  return { ok: false, ...retryability(error, call), error, status: statusOf(error) };
}

function retryability(error: CommsError, call: NatsCall): { retryable: boolean; peerFault: boolean } {
  if (NEVER_RETRIED_CODES.has(error.code)) return { retryable: false, peerFault: false };
  if (!RETRIED_KINDS.has(error.kind)) return { retryable: false, peerFault: false };
  if (call.op !== 'publish') return { retryable: true, peerFault: true };
  // A core batch: a timeout may have sent part of it; a connect error only if the connection was up.
  const retryable = error.kind === 'connect' && !PUBLISH_NOT_RETRIED_CODES.has(error.code);
  return { retryable, peerFault: true };
}

function statusOf(error: CommsError): string {
  if (error.code === 'COMMS_ERR_NATS_NO_RESPONDERS') return 'no responders';
  if (error.code === 'COMMS_ERR_NATS_AUTH') return 'unauthorized';
  return error.kind;
}
