import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import { HttpTransport } from '../../transports/http/adapter.js';
import type { HttpCall } from '../../transports/http/call.js';
import { parseStatusSpec } from '../../transports/http/status-spec.js';
import type { StoredEvent } from '../event.js';
import { type EventHandler, eventPayload } from './event-handler.js';

/** Only a 2xx means handled: a redirect (not followed) or a 1xx did not handle the event. */
const HANDLED = parseStatusSpec('2xx');

/**
 * `--to http(s)://URL`: each event is POSTed as JSON by the shared HTTP transport; only a 2xx means
 * handled (a 3xx is a failure: redirects are not followed, the checkpoint must not pass an event
 * nobody handled). 429/502/503/504 are still retried. The event id goes in `Idempotency-Key`, which
 * is also what makes a POST retryable under the contract's rules (429/502/503/504, connection
 * errors, timeouts), so the handler can deduplicate at-least-once deliveries.
 */
export function createHttpHandler(url: URL, target: string): EventHandler {
  const transport = new HttpTransport({ tls: { insecure: false }, http2: false });
  return {
    target,
    deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>> {
      const call: HttpCall = {
        target,
        operation: 'POST',
        method: 'POST',
        url,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': event.id,
          'comms-event-type': event.type,
          'comms-event-aggregate': event.aggregate,
          'comms-event-version': String(event.version),
        },
        body: eventPayload(event),
        followRedirects: false,
        maxRedirects: 0,
        bodyMode: 'buffer',
        // The handler's answer belongs in each delivery's --json line.
        describeBody: true,
        decompress: true,
        expectStatus: HANDLED,
        retryUnsafe: true,
      };
      return pipeline.run(transport, call);
    },
    close: () => transport.close(),
  };
}
