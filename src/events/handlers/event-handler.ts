import { formatMs } from '../../core/duration.js';
import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import { CommsError, TimeoutError } from '../../errors/comms-error.js';
import type { StoredEvent } from '../event.js';

/**
 * A dispatch target (`--to`). Delivery goes through the shared CallPipeline with the target's own
 * Transport, so retries, timeouts and the breaker are the same middleware as every other call.
 */
export interface EventHandler {
  /** `--to` as given (credentials in URLs redacted): breaker key and dead-letter `handler`. */
  readonly target: string;
  deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>>;
  close(): Promise<void>;
}

/** The JSON body/payload/stdin a handler receives: the stored event as `events read --json` prints it. */
export function eventPayload(event: StoredEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/**
 * How much of a handler's reply a delivery keeps (HTTP body, NATS reply data, exec output) for its
 * --json line. Only the status decides; a larger reply is cut here and flagged `truncated`.
 */
export const REPLY_KEEP_BYTES = 16 * 1024;

/** The stored event's fields as message headers (AMQP headers, MQTT user properties). */
export function eventHeaders(event: StoredEvent): Record<string, string> {
  return {
    'comms-event-id': event.id,
    'comms-event-type': event.type,
    'comms-event-aggregate': event.aggregate,
    'comms-event-version': String(event.version),
    'comms-event-position': String(event.position),
  };
}

/**
 * A handler whose connection was not made in time (a port that accepts TCP and never speaks the
 * protocol): a connect timeout (COMMS_ERR_CONNECT_TIMEOUT), which dispatch treats as an unreachable
 * handler, so the event is neither parked nor passed. Other errors are returned as they are.
 */
export function connectTimedOut(
  err: unknown,
  what: { target: string; ms: number; protocol: string },
): unknown {
  if (!(err instanceof CommsError) || err.kind !== 'timeout') return err;
  return new TimeoutError(
    `connect timed out after ${formatMs(what.ms)} (${what.target}: the ${what.protocol} handshake never completed)`,
    { cause: err, code: 'COMMS_ERR_CONNECT_TIMEOUT', hint: `is a ${what.protocol} server listening there?` },
  );
}
