import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { performance } from '../../core/clock.js';
import { decodeData } from '../../core/message-data.js';
import { listenAbort, raceSignal } from '../../core/race-signal.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { abortReasonToError } from '../../errors/classify.js';
import { type CommsError, ConnectError, TimeoutError } from '../../errors/comms-error.js';
import type { MqttCall, MqttReply, OutgoingMqtt } from './call.js';
import { classify } from './classify.js';
import { closeMqtt, connectMqtt, type MqttEndpoint } from './connection.js';
import { mqttError } from './errors.js';
import { headersOf, type PublishPacket } from './message.js';

/**
 * The broker's answers to one publish batch, counted: mqtt.js calls back once per message (PUBACK,
 * PUBCOMP, or the write for QoS 0). One callback shared by the messages to the same topic and one
 * promise for the batch, instead of a promise and two closures per message; `all()` settles like
 * `Promise.all` over per-message promises would: rejected with the first failure, else resolved once
 * every message is answered.
 */
class BatchAcks {
  sent = 0;
  #answered = 0;
  #error: CommsError | undefined;
  #topic: string | undefined;
  #callback: ((err?: Error) => void) | undefined;
  #waiter: { resolve(): void; reject(err: CommsError): void } | undefined;

  callback(topic: string): (err?: Error) => void {
    if (topic !== this.#topic || !this.#callback) {
      this.#topic = topic;
      this.#callback = (err?: Error) => this.#answer(err, topic);
    }
    return this.#callback;
  }

  #answer(err: Error | undefined, topic: string): void {
    this.#answered += 1;
    if (this.#error) return;
    if (err) {
      this.#error = mqttError(err, topic, 'publish');
      this.#waiter?.reject(this.#error);
    } else if (this.#answered === this.sent) this.#waiter?.resolve();
  }

  /** Settles once every message sent so far is answered (call it when the batch is sent). */
  all(): Promise<void> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#answered === this.sent) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }
}

interface PendingReply {
  resolve(packet: PublishPacket): void;
  reject(err: CommsError): void;
}

/**
 * The MQTT adapter of the one Transport interface: one client for the run, connected on the first
 * attempt. A publish batch is done when mqtt.js's callbacks say so: PUBACK (QoS 1) or PUBCOMP (QoS 2)
 * from the broker, or the write for QoS 0. Requests share one response-topic subscription and are
 * matched by correlation data.
 */
export class MqttTransport implements Transport<MqttCall, MqttReply> {
  readonly kind = 'mqtt';
  readonly #endpoint: MqttEndpoint;
  readonly #responseTopic: string;
  #client: Promise<MqttClient> | undefined;
  #subscribed: Promise<unknown> | undefined;
  /** The connected client once the response topic is subscribed: load mode's requests use it without awaiting. */
  #ready: MqttClient | undefined;
  readonly #replies = new Map<string, PendingReply>();
  #closedError: CommsError | undefined;

  constructor(endpoint: MqttEndpoint, responseTopic?: string) {
    this.#endpoint = endpoint;
    this.#responseTopic = responseTopic ?? `comms-cli/reply/${endpoint.clientId}`;
  }

  get responseTopic(): string {
    return this.#responseTopic;
  }

  /** The client, connected on first use (also what an events handler watches for PUBACK reason codes). */
  async connection(ctx: AttemptContext): Promise<MqttClient> {
    if (!this.#client) {
      const started = performance.now();
      const pending = connectMqtt(this.#endpoint).then((client) => {
        client.on('close', () => {
          this.#closedError = new ConnectError(`the connection to ${this.#endpoint.display} closed`, {
            code: 'COMMS_ERR_MQTT_CLOSED',
          });
          for (const p of this.#replies.values()) p.reject(this.#closedError);
          this.#replies.clear();
          if (this.#ready === client) this.#ready = undefined;
          if (this.#client === pending) {
            this.#client = undefined;
            this.#subscribed = undefined;
          }
        });
        client.on('message', (_topic, _payload, packet) => {
          const corr = packet.properties?.correlationData;
          if (!corr) return;
          // mqtt-packet parses correlation data into a Buffer: read it in place, no copy per reply.
          const key = (Buffer.isBuffer(corr) ? corr : Buffer.from(corr)).toString('utf8');
          const waiting = this.#replies.get(key);
          if (!waiting) return;
          this.#replies.delete(key);
          waiting.resolve(packet);
        });
        return client;
      });
      this.#client = pending;
      pending.catch(() => {
        if (this.#client === pending) this.#client = undefined;
      });
      const client = await raceSignal(pending, ctx.signal);
      ctx.timing.set('connect', performance.now() - started);
      return client;
    }
    return raceSignal(this.#client, ctx.signal);
  }

  attempt(call: MqttCall, ctx: AttemptContext): Promise<MqttReply> {
    // Load mode's hot path: connected and subscribed, so a request needs no await before it is sent.
    const ready = this.#ready;
    if (call.op === 'request' && ready && !ctx.signal.aborted) return this.#request(ready, call, ctx);
    return this.#attempt(call, ctx);
  }

  async #attempt(call: MqttCall, ctx: AttemptContext): Promise<MqttReply> {
    const client = await this.connection(ctx);
    if (call.op === 'request') return this.#request(client, call, ctx);
    let count = 0;
    let bytes = 0;
    let qos = 0;
    const acks = new BatchAcks();
    const send = (m: OutgoingMqtt) => {
      const q = m.options.qos ?? 0;
      if (q > qos) qos = q;
      acks.sent += 1;
      client.publish(m.topic, m.payload, m.options, acks.callback(m.topic));
      count += 1;
      bytes += m.payload.byteLength;
    };
    try {
      const source = call.messages();
      if (Symbol.iterator in source) {
        for (const m of source) {
          if (ctx.signal.aborted) break;
          send(m);
        }
      } else {
        for await (const m of source) {
          send(m);
          if (ctx.signal.aborted) break;
        }
      }
      if (ctx.signal.aborted)
        return { op: 'publish', count, bytes, qos, stopped: abortReasonToError(ctx.signal.reason) };
      await raceSignal(acks.all(), ctx.signal);
      ctx.timing.set('firstByte', performance.now() - ctx.timing.start);
      return { op: 'publish', count, bytes, qos };
    } catch (err) {
      if (ctx.signal.aborted && count > 0)
        return { op: 'publish', count, bytes, qos, stopped: abortReasonToError(ctx.signal.reason) };
      throw mqttError(err, call.target, 'publish', ctx.signal);
    }
  }

  async #request(
    client: MqttClient,
    call: MqttCall & { op: 'request' },
    ctx: AttemptContext,
  ): Promise<MqttReply> {
    if (!this.#subscribed) {
      const qos = call.message.options.qos ?? 0;
      this.#subscribed = client.subscribeAsync(this.#responseTopic, { qos }).then((grants) => {
        const rc = grants[0]?.qos;
        if (rc !== undefined && rc >= 0x80) throw Object.assign(new Error('subscribe refused'), { code: rc });
      });
      this.#subscribed.catch(() => {
        this.#subscribed = undefined;
      });
    }
    const correlation = randomUUID();
    const signal = ctx.signal;
    let unlisten: (() => void) | undefined;
    try {
      if (this.#ready !== client) {
        const subscribed = this.#subscribed;
        await raceSignal(subscribed, ctx.signal).catch((err: unknown) => {
          throw mqttError(err, this.#responseTopic, 'subscribe', ctx.signal);
        });
        if (this.#client && this.#subscribed === subscribed) this.#ready = client;
      }
      if (signal.aborted) throw abortReasonToError(signal.reason);
      // One pending entry per request, rejected by the connection closing (the close handler rejects
      // every waiting reply), a failed publish, or the attempt's signal: one promise and one abort
      // listener, where awaiting the subscription, the publish and the reply against the signal
      // cost a listener and two or three promises each.
      const reply = new Promise<PublishPacket>((resolve, reject) => {
        this.#replies.set(correlation, { resolve, reject });
        unlisten = listenAbort(ctx, () => reject(abortReasonToError(signal.reason)));
      });
      const m = call.message;
      client.publish(
        m.topic,
        m.payload,
        {
          ...m.options,
          properties: {
            ...m.options.properties,
            responseTopic: this.#responseTopic,
            correlationData: Buffer.from(correlation),
          },
        },
        (err) => {
          if (!err) return;
          const waiting = this.#replies.get(correlation);
          this.#replies.delete(correlation);
          waiting?.reject(mqttError(err, m.topic, 'publish', signal));
        },
      );
      const packet = await reply;
      ctx.timing.set('firstByte', performance.now() - ctx.timing.start);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      return { op: 'request', topic: packet.topic, headers: headersOf(packet), data: payload };
    } catch (err) {
      if (ctx.signal.aborted) {
        const why = abortReasonToError(ctx.signal.reason);
        if (why.kind === 'timeout')
          throw new TimeoutError(
            `no reply on '${this.#responseTopic}' to the request on '${call.target}' in time`,
            {
              cause: err,
              code: 'COMMS_ERR_MQTT_TIMEOUT',
              hint: 'is a responder subscribed, and does it answer to the MQTT 5 response topic?',
            },
          );
        throw why;
      }
      throw mqttError(err, call.target, 'publish');
    } finally {
      this.#replies.delete(correlation);
      unlisten?.();
    }
  }

  classify(outcome: Outcome<MqttReply>, call: MqttCall): Verdict {
    return classify(outcome, call);
  }

  describe(reply: MqttReply): ResultFields {
    if (reply.op === 'publish') return { count: reply.count, bytes: reply.bytes, qos: reply.qos };
    const { data, encoding } = decodeData(reply.data);
    return { topic: reply.topic, headers: reply.headers ?? {}, data, encoding, size: reply.data.byteLength };
  }

  async close(): Promise<void> {
    const pending = this.#client;
    this.#client = undefined;
    this.#ready = undefined;
    if (!pending) return;
    await closeMqtt(await pending.catch(() => undefined));
  }
}
