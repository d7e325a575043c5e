import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { HttpTransport, headerValue } from '../../transports/http/adapter.js';
import type { BodySink, HttpCall, HttpReply } from '../../transports/http/call.js';
import { exactJsonBody } from '../../transports/http/json-body.js';
import { parseStatusSpec } from '../../transports/http/status-spec.js';
import type { StoredEvent } from '../event.js';
import { type EventHandler, eventPayload, REPLY_KEEP_BYTES } from './event-handler.js';

/** Only a 2xx means handled: a redirect (not followed) or a 1xx did not handle the event. */
const HANDLED = parseStatusSpec('2xx');

/**
 * `--to http(s)://URL`: each event is POSTed as JSON by the shared HTTP transport; only a 2xx means
 * handled (a 3xx is a failure: redirects are not followed, the checkpoint must not pass an event
 * nobody handled). 429/502/503/504 are still retried. The event id goes in `Idempotency-Key`, which
 * is also what makes a POST retryable under the contract's rules (429/502/503/504, connection
 * errors, timeouts), so the handler can deduplicate at-least-once deliveries.
 *
 * Only the status decides, so the reply body is never held whole: the first REPLY_KEEP_BYTES (after
 * decompression) are kept for the delivery's --json line, and reading stops there (`bodyTruncated`):
 * an endless or decompression-bomb body costs neither memory nor the attempt's time.
 */
export function createHttpHandler(url: URL, target: string): EventHandler {
  const transport = new CappedBodyTransport(new HttpTransport({ tls: { insecure: false }, http2: false }));
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
        // The sink (set per attempt) keeps the head of the body.
        bodyMode: 'stream',
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

/** Thrown by the sink to stop reading a body past the cap; never leaves the attempt. */
class BodyCapReached extends Error {}

/** The HTTP transport with every attempt's body collected by a capped sink. */
class CappedBodyTransport implements Transport<HttpCall, HttpReply> {
  readonly kind: string;
  readonly #inner: HttpTransport;
  readonly #truncated = new WeakSet<HttpReply>();

  constructor(inner: HttpTransport) {
    this.#inner = inner;
    this.kind = inner.kind;
  }

  async attempt(call: HttpCall, ctx: AttemptContext): Promise<HttpReply> {
    let head: HttpReply | undefined;
    const chunks: Buffer[] = [];
    let kept = 0;
    let capped = false;
    const sink: BodySink = {
      head(reply) {
        head = reply;
        return true;
      },
      async chunk(data) {
        const room = REPLY_KEEP_BYTES - kept;
        if (room > 0) {
          const part = data.length > room ? Buffer.from(data.subarray(0, room)) : data;
          chunks.push(part);
          kept += part.length;
        }
        if (data.length > room) {
          capped = true;
          throw new BodyCapReached();
        }
      },
      async end() {},
    };
    let reply: HttpReply;
    try {
      reply = await this.#inner.attempt({ ...call, sink }, ctx);
    } catch (err) {
      // The status is in; the rest of the body is not needed (the connection is dropped).
      if (!capped || !head || ctx.signal.aborted) throw err;
      reply = head;
      this.#truncated.add(reply);
    }
    reply.body = Buffer.concat(chunks);
    reply.streamed = false;
    // The delivery's --json line shows the kept head of the answer, as the HTTP command would.
    if (reply.body.length > 0)
      reply.described = exactJsonBody(reply.body, headerValue(reply.headers['content-type']));
    return reply;
  }

  classify(outcome: Outcome<HttpReply>, call: HttpCall): Verdict {
    return this.#inner.classify(outcome, call);
  }

  describe(reply: HttpReply, call: HttpCall): ResultFields {
    const fields = this.#inner.describe(reply, call);
    return this.#truncated.has(reply) ? { ...fields, bodyTruncated: true } : fields;
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
