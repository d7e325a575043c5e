import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
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
