import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from '../../core/clock.js';
import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { abortReasonToError } from '../../errors/classify.js';
import { CommsError, ConnectError } from '../../errors/comms-error.js';
import { AmqpTransport } from '../../transports/amqp/adapter.js';
import type { AmqpCall, AmqpReply, OutgoingAmqp } from '../../transports/amqp/call.js';
import { NEVER_RETRIED } from '../../transports/amqp/classify.js';
import { amqpEndpoint } from '../../transports/amqp/connection.js';
import type { StoredEvent } from '../event.js';
import type { AmqpHandlerSpec } from './broker-specs.js';
import { connectTimedOut, type EventHandler, eventHeaders, eventPayload } from './event-handler.js';

/**
 * `--to amqp://…?queue=Q` (or `?exchange=X&routing-key=K`): each event is one persistent message
 * published through the AMQP transport on a confirm channel. Handled means the broker confirmed it
 * (basic.ack); with `mandatory` (the default) a message no queue is bound for comes back
 * (basic.return) and is not handled: like NATS "no responders", nobody is there to take it, so the
 * dispatch stops (unreachable, exit 3) unless --dead-letter-unreachable. A nack is a failure. The
 * queue or exchange is checked passively before the first event: a missing one is a handler that is
 * not there (unreachable), not a bad event. The event id is the message id.
 */
export function createAmqpHandler(spec: AmqpHandlerSpec, timeoutMs: number): EventHandler {
  const endpoint = amqpEndpoint(
    spec.url,
    { insecure: false },
    { showSecrets: false, connectTimeoutMs: timeoutMs },
  );
  const inner = new AmqpTransport({
    endpoint,
    confirm: true,
    async setup(ch) {
      if (spec.check.kind === 'queue') await ch.checkQueue(spec.check.name);
      else await ch.checkExchange(spec.check.name);
    },
  });
  const transport = new AmqpHandlerTransport(inner, spec);
  return {
    target: spec.target,
    deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>> {
      const message: OutgoingAmqp = {
        exchange: spec.exchange,
        routingKey: spec.routingKey,
        content: eventPayload(event),
        options: {
          contentType: 'application/json',
          messageId: event.id,
          type: event.type,
          persistent: true,
          mandatory: spec.mandatory,
          headers: eventHeaders(event),
        },
      };
      const call: AmqpCall = {
        target: spec.target,
        operation: 'publish',
        op: 'publish',
        messages: () => [message],
      };
      return pipeline.run(transport, call);
    },
    close: () => transport.close(),
  };
}

/** How long closing may wait for a connection still being made. */
const CLOSE_GRACE_MS = 1_000;

/** Codes that say "nobody there to take it" rather than "this event is bad". */
const RETRIED = new Set(['COMMS_ERR_AMQP_NO_ROUTE', 'COMMS_ERR_AMQP_NACK', 'COMMS_ERR_CONNECT_TIMEOUT']);

class AmqpHandlerTransport implements Transport<AmqpCall, AmqpReply> {
  readonly kind = 'amqp' as const;
  readonly #inner: AmqpTransport;
  readonly #spec: AmqpHandlerSpec;

  constructor(inner: AmqpTransport, spec: AmqpHandlerSpec) {
    this.#inner = inner;
    this.#spec = spec;
  }

  async attempt(call: AmqpCall, ctx: AttemptContext): Promise<AmqpReply> {
    const started = performance.now();
    try {
      await this.#inner.channel(ctx);
    } catch (err) {
      const typed = ctx.signal.aborted ? abortReasonToError(ctx.signal.reason) : err;
      if (typed instanceof CommsError && typed.code === 'COMMS_ERR_AMQP_NOT_FOUND') {
        const { kind, name } = this.#spec.check;
        throw new ConnectError(`no ${kind} '${name}' on ${call.target}`, {
          cause: typed,
          code: typed.code,
          hint:
            kind === 'queue'
              ? `declare it first (comms-cli amqp reply ${name} --declare, or amqp consume)`
              : 'declare the exchange first',
        });
      }
      throw connectTimedOut(typed, {
        target: call.target,
        ms: performance.now() - started,
        protocol: 'AMQP',
      });
    }
    return this.#inner.attempt(call, ctx);
  }

  classify(outcome: Outcome<AmqpReply>, call: AmqpCall): Verdict {
    const verdict = this.#inner.classify(outcome, call);
    if (verdict.ok || !verdict.error) return verdict;
    // One message, the event id as its message id: sending it again is what at-least-once means.
    const { code, kind } = verdict.error;
    if (NEVER_RETRIED.has(code)) return verdict;
    const again = RETRIED.has(code) || kind === 'connect' || kind === 'timeout';
    return again ? { ...verdict, retryable: true, peerFault: true } : verdict;
  }

  describe(reply: AmqpReply): ResultFields {
    return this.#inner.describe(reply);
  }

  async close(): Promise<void> {
    // A connect still in flight (a peer that never answers) ends by its own timeout; do not wait for it.
    await Promise.race([this.#inner.close(), sleep(CLOSE_GRACE_MS, undefined, { ref: false })]);
  }
}
