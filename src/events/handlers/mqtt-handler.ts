import { setTimeout as sleep } from 'node:timers/promises';
import type { OnPacketCallback } from 'mqtt';
import { performance } from '../../core/clock.js';
import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { abortReasonToError } from '../../errors/classify.js';
import { ConnectError } from '../../errors/comms-error.js';
import { MqttTransport } from '../../transports/mqtt/adapter.js';
import type { MqttCall, MqttReply } from '../../transports/mqtt/call.js';
import { NEVER_RETRIED } from '../../transports/mqtt/classify.js';
import { mqttEndpoint } from '../../transports/mqtt/connection.js';
import type { StoredEvent } from '../event.js';
import { type MqttHandlerSpec, mqttValues } from './broker-specs.js';
import { connectTimedOut, type EventHandler, eventHeaders, eventPayload } from './event-handler.js';

/** How long closing may wait for a connection still being made. */
const CLOSE_GRACE_MS = 1_000;
/** MQTT 5 PUBACK/PUBREC reason code: the broker took the message and nobody subscribes to it. */
const NO_MATCHING_SUBSCRIBERS = 16;

type Packet = Parameters<OnPacketCallback>[0];

/** The publish reply, with what the broker's acknowledgement said about subscribers. */
type MqttHandlerReply = MqttReply & { noSubscribers?: boolean };

/**
 * `--to mqtt://host:1883/TOPIC?qos=1`: each event is one MQTT 5 publish at QoS 1 (or 2) through the
 * MQTT transport. Handled means the broker acknowledged it (PUBACK; PUBCOMP at QoS 2). QoS 0 is not
 * offered: nothing would confirm it. With `mandatory` (the default) an acknowledgement whose reason
 * code says "No matching subscribers" (16) is not handled: the broker dropped it, nobody was there,
 * like AMQP's basic.return or NATS's no responders, so the dispatch stops (unreachable, exit 3) unless
 * --dead-letter-unreachable. A subscriber with a persistent session counts as one while it is away.
 * The event id and fields go in user properties (`comms-event-id`, ...).
 */
export function createMqttHandler(spec: MqttHandlerSpec, timeoutMs: number): EventHandler {
  const endpoint = mqttEndpoint(mqttValues(spec.url), { insecure: false }, timeoutMs);
  const transport = new MqttHandlerTransport(new MqttTransport(endpoint), spec);
  return {
    target: spec.target,
    deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>> {
      const call: MqttCall = {
        target: spec.target,
        operation: 'publish',
        op: 'publish',
        messages: () => [
          {
            topic: spec.topic,
            payload: eventPayload(event),
            options: {
              qos: spec.qos,
              properties: { contentType: 'application/json', userProperties: eventHeaders(event) },
            },
          },
        ],
      };
      return pipeline.run(transport, call);
    },
    close: () => transport.close(),
  };
}

class MqttHandlerTransport implements Transport<MqttCall, MqttHandlerReply> {
  readonly kind = 'mqtt' as const;
  readonly #inner: MqttTransport;
  readonly #spec: MqttHandlerSpec;

  constructor(inner: MqttTransport, spec: MqttHandlerSpec) {
    this.#inner = inner;
    this.#spec = spec;
  }

  async attempt(call: MqttCall, ctx: AttemptContext): Promise<MqttHandlerReply> {
    const started = performance.now();
    let client: Awaited<ReturnType<MqttTransport['connection']>>;
    try {
      client = await this.#inner.connection(ctx);
    } catch (err) {
      const typed = ctx.signal.aborted ? abortReasonToError(ctx.signal.reason) : err;
      throw connectTimedOut(typed, {
        target: call.target,
        ms: performance.now() - started,
        protocol: 'MQTT',
      });
    }
    // Deliveries are one at a time, so the acknowledgement that comes back now is this event's.
    let noSubscribers = false;
    const watch = (packet: Packet) => {
      if (
        (packet.cmd === 'puback' || packet.cmd === 'pubrec') &&
        packet.reasonCode === NO_MATCHING_SUBSCRIBERS
      )
        noSubscribers = true;
    };
    client.on('packetreceive', watch);
    try {
      const reply = await this.#inner.attempt(call, ctx);
      return noSubscribers ? { ...reply, noSubscribers } : reply;
    } finally {
      client.removeListener('packetreceive', watch);
    }
  }

  classify(outcome: Outcome<MqttHandlerReply>, call: MqttCall): Verdict {
    if (outcome.reply?.noSubscribers && this.#spec.mandatory)
      return {
        ok: false,
        retryable: true,
        peerFault: true,
        status: 'no subscribers',
        error: new ConnectError(
          `no subscriber for topic '${this.#spec.topic}': the broker acknowledged with reason 16 (No matching subscribers) and dropped it`,
          {
            code: 'COMMS_ERR_MQTT_NO_SUBSCRIBERS',
            hint: 'start a subscriber first (a persistent session counts while away), or add ?mandatory=false',
          },
        ),
      };
    const verdict = this.#inner.classify(outcome, call);
    if (verdict.ok || !verdict.error) return verdict;
    // One message, the event id in its properties: sending it again is what at-least-once means.
    const { kind, code } = verdict.error;
    if (NEVER_RETRIED.has(code)) return verdict;
    return kind === 'connect' || kind === 'timeout'
      ? { ...verdict, retryable: true, peerFault: true }
      : verdict;
  }

  describe(reply: MqttHandlerReply): ResultFields {
    return {
      ...this.#inner.describe(reply),
      topic: this.#spec.topic,
      ...(reply.noSubscribers ? { noSubscribers: true } : {}),
    };
  }

  async close(): Promise<void> {
    await Promise.race([this.#inner.close(), sleep(CLOSE_GRACE_MS, undefined, { ref: false })]);
  }
}
