import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from '../../core/clock.js';
import { formatMs } from '../../core/duration.js';
import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { CommsError, TimeoutError } from '../../errors/comms-error.js';
import { type NatsCall, type NatsReply, NatsTransport } from '../../transports/nats/adapter.js';
import {
  type NatsConnectionFlags,
  natsConnectOptionsFrom,
} from '../../transports/nats/connection-options.js';
import type { StoredEvent } from '../event.js';
import { type EventHandler, eventPayload, REPLY_KEEP_BYTES } from './event-handler.js';

/** How long closing may wait for a connection still being made (a server that never sent INFO). */
const CLOSE_GRACE_MS = 1_000;

/**
 * `--to nats:SUBJECT`: each event is a request on SUBJECT through the shared NATS transport; any
 * reply means handled (a micro-services error reply, `Nats-Service-Error-Code`, means failed). No
 * responders and timeouts are retried, as for `nats request`. The event id is in `Nats-Msg-Id`.
 * The server is `-s`, else NATS_URL, else the store's server when it is JetStream; credentials and
 * TLS files are the command's NATS connection flags (the same ones as the store's).
 *
 * A connection that is not made within the attempt's --timeout (a server that accepts TCP and never
 * sends INFO) is a connect timeout (COMMS_ERR_CONNECT_TIMEOUT), which dispatch treats as an
 * unreachable handler: the event is neither parked nor passed. Only the reply's status matters: the
 * reply's data kept in a delivery's result is capped at REPLY_KEEP_BYTES.
 */
export function createNatsHandler(
  subject: string,
  target: string,
  connection: NatsConnectionFlags,
  timeoutMs: number,
): EventHandler {
  // The first connect gives up with the attempt, so no half-made connection outlives the verdict.
  const connectTimeoutMs = timeoutMs > 0 && Number.isFinite(timeoutMs) ? timeoutMs : undefined;
  const options = natsConnectOptionsFrom(connection, {
    reconnect: 'brief',
    ...(connectTimeoutMs !== undefined ? { connectTimeoutMs } : {}),
  });
  const transport = new HandlerTransport(new NatsTransport(options, timeoutMs));
  return {
    target,
    deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>> {
      const call: NatsCall = {
        target,
        operation: 'request',
        op: 'request',
        message: {
          subject,
          data: eventPayload(event),
          headers: [
            ['Nats-Msg-Id', event.id],
            ['Comms-Event-Type', event.type],
            ['Comms-Event-Aggregate', event.aggregate],
            ['Comms-Event-Version', String(event.version)],
          ],
        },
      };
      return pipeline.run(transport, call);
    },
    close: () => transport.close(),
  };
}

/** The NATS transport, with the connect step told apart from the request and the reply kept small. */
class HandlerTransport implements Transport<NatsCall, NatsReply> {
  readonly kind = 'nats' as const;
  readonly #inner: NatsTransport;
  /** Replies whose data was cut to REPLY_KEEP_BYTES, with their real size. */
  readonly #truncated = new WeakMap<NatsReply, number>();

  constructor(inner: NatsTransport) {
    this.#inner = inner;
  }

  async attempt(call: NatsCall, ctx: AttemptContext): Promise<NatsReply> {
    const started = performance.now();
    try {
      await this.#inner.connection(ctx);
    } catch (err) {
      // Whichever gives up first, the attempt's --timeout or the client's connect timeout (set to the
      // same value), it is the same event: no NATS handshake in time.
      const clientTimedOut =
        err instanceof CommsError &&
        (err.code === 'COMMS_ERR_CONNECT_TIMEOUT' ||
          (err.cause as { name?: string } | undefined)?.name === 'TimeoutError');
      if (err instanceof CommsError && (err.kind === 'timeout' || clientTimedOut)) {
        throw new TimeoutError(
          `connect timed out after ${formatMs(performance.now() - started)} (${call.target}: the server never completed the NATS handshake)`,
          {
            cause: err,
            code: 'COMMS_ERR_CONNECT_TIMEOUT',
            hint: 'is a NATS server listening there? (-s, NATS_URL or the nats:// store)',
          },
        );
      }
      throw err;
    }
    const reply = await this.#inner.attempt(call, ctx);
    if (reply.op === 'request' && reply.data.byteLength > REPLY_KEEP_BYTES) {
      // Only the status matters: do not keep a large reply for the result.
      const kept: NatsReply = { ...reply, data: reply.data.slice(0, REPLY_KEEP_BYTES) };
      this.#truncated.set(kept, reply.data.byteLength);
      return kept;
    }
    return reply;
  }

  classify(outcome: Outcome<NatsReply>, call: NatsCall): Verdict {
    return this.#inner.classify(outcome, call);
  }

  describe(reply: NatsReply): ResultFields {
    const fields = this.#inner.describe(reply);
    const from = this.#truncated.get(reply);
    return from === undefined ? fields : { ...fields, size: from, truncated: true };
  }

  async close(): Promise<void> {
    // A connect still in flight (no INFO yet) ends by its own timeout; the command need not wait for it.
    await Promise.race([this.#inner.close(), sleep(CLOSE_GRACE_MS, undefined, { ref: false })]);
  }
}
