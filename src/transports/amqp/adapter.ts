import { randomUUID } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import { performance } from '../../core/clock.js';
import { decodeData } from '../../core/message-data.js';
import { listenAbort, raceSignal } from '../../core/race-signal.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { abortReasonToError } from '../../errors/classify.js';
import { type CommsError, ConnectError, ResponseError, TimeoutError } from '../../errors/comms-error.js';
import type { AmqpCall, AmqpReply, OutgoingAmqp, Returned } from './call.js';
import { classify } from './classify.js';
import { type AmqpEndpoint, closeAmqp, connectAmqp } from './connection.js';
import { amqpError } from './errors.js';
import { headersOf, propertiesOf } from './message.js';

/** RabbitMQ's direct reply-to pseudo queue: replies come straight back to this channel's consumer. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

interface Unconfirmed {
  readonly exchange: string;
  readonly routingKey: string;
  returned?: Returned;
  settled?: boolean;
}

interface PendingReply {
  resolve(msg: ConsumeMessage): void;
  reject(err: CommsError): void;
}

/** One channel and what rides on it: confirms not yet in, requests waiting for replies. */
interface ChannelState {
  readonly ch: ConfirmChannel | Channel;
  /** Rejects (typed) when the channel or its connection closes; never resolves. */
  readonly failed: Promise<never>;
  error: CommsError | undefined;
  /**
   * Publishes awaiting their confirm, in publish order, from `head` on. Confirms settle in order, so
   * the head advances and the array is compacted now and then: amortised O(1) per message (removing
   * each entry with splice made a 20,000-message batch quadratic).
   */
  readonly unconfirmed: Unconfirmed[];
  head: number;
  readonly replies: Map<string, PendingReply>;
  replyConsumer?: Promise<unknown>;
  /** The direct reply-to consumer is in place (requests after the first skip awaiting it). */
  consuming: boolean;
}

export interface AmqpTransportOptions {
  endpoint: AmqpEndpoint;
  /** Publisher confirms (default on): a publish is done when the broker confirmed it. */
  confirm: boolean;
  /** Run once on the first channel before any message is sent: existence checks, --declare. */
  setup?: (ch: Channel) => Promise<void>;
}

/**
 * The AMQP adapter of the one Transport interface. It connects on the first attempt (a refused
 * connection is an attempt like any other) and keeps one connection and one channel for the run
 * (load mode and --count share them); a channel the broker closed (404, 406...) is replaced on the
 * next attempt. Unroutable messages (basic.return, mandatory) are matched to their publish by
 * exchange and routing key (the broker returns them in publish order, before their confirm), replies
 * to their request by correlation id.
 */
export class AmqpTransport implements Transport<AmqpCall, AmqpReply> {
  readonly kind = 'amqp';
  readonly #options: AmqpTransportOptions;
  #conn: Promise<ChannelModel> | undefined;
  #state: Promise<ChannelState> | undefined;
  /** `#state` once it opened and while it is up: load mode's requests use it without awaiting. */
  #ready: ChannelState | undefined;
  #setupDone = false;

  constructor(options: AmqpTransportOptions) {
    this.#options = options;
  }

  #connection(): Promise<ChannelModel> {
    if (!this.#conn) {
      const pending = connectAmqp(this.#options.endpoint).then((conn) => {
        const forget = () => {
          if (this.#conn === pending) this.#conn = undefined;
        };
        conn.on('error', () => undefined);
        conn.on('close', forget);
        return conn;
      });
      this.#conn = pending;
      pending.catch(() => {
        if (this.#conn === pending) this.#conn = undefined;
      });
    }
    return this.#conn;
  }

  /** The channel, opened (and set up) on first use; a closed one is replaced. */
  async channel(ctx?: AttemptContext): Promise<ChannelState> {
    if (!this.#state) {
      const started = performance.now();
      const pending = this.#open();
      this.#state = pending;
      pending.catch(() => {
        if (this.#state === pending) this.#state = undefined;
      });
      const state = await raceSignal(pending, ctx?.signal);
      ctx?.timing.set('connect', performance.now() - started);
      return state;
    }
    return raceSignal(this.#state, ctx?.signal);
  }

  async #open(): Promise<ChannelState> {
    const conn = await this.#connection();
    const display = this.#options.endpoint.display;
    let ch: ConfirmChannel | Channel;
    try {
      ch = this.#options.confirm ? await conn.createConfirmChannel() : await conn.createChannel();
    } catch (err) {
      throw amqpError(err, display);
    }
    let fail: (err: CommsError) => void = () => undefined;
    const failed = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    failed.catch(() => undefined);
    const state: ChannelState = {
      ch,
      failed,
      error: undefined,
      unconfirmed: [],
      head: 0,
      replies: new Map(),
      consuming: false,
    };
    const pendingState = this.#state;
    const down = (err: CommsError) => {
      if (!state.error) state.error = err;
      if (this.#ready === state) this.#ready = undefined;
      if (this.#state === pendingState || this.#state === undefined) this.#state = undefined;
      for (const p of state.replies.values()) p.reject(state.error);
      state.replies.clear();
      fail(state.error);
    };
    ch.on('error', (err: unknown) => down(amqpError(err, display)));
    ch.on('close', () =>
      down(new ConnectError(`the channel to ${display} closed`, { code: 'COMMS_ERR_AMQP_CLOSED' })),
    );
    ch.on('return', (msg: Message) => this.#returned(state, msg));
    if (this.#options.setup && !this.#setupDone) {
      try {
        await this.#options.setup(ch);
      } catch (err) {
        // A failed check closes the channel; its error event says why, with the broker's text.
        throw state.error ?? amqpError(err, display);
      }
      this.#setupDone = true;
    }
    if (!state.error) this.#ready = state;
    return state;
  }

  #returned(state: ChannelState, msg: Message): void {
    const info: Returned = {
      replyCode: (msg.fields as unknown as { replyCode: number }).replyCode,
      replyText: (msg.fields as unknown as { replyText: string }).replyText,
      exchange: msg.fields.exchange,
      routingKey: msg.fields.routingKey,
    };
    const corr = msg.properties.correlationId as string | undefined;
    const waiting = corr !== undefined ? state.replies.get(corr) : undefined;
    if (waiting) {
      state.replies.delete(corr as string);
      waiting.reject(
        new ConnectError(
          `no route for the request: ${info.replyCode} ${info.replyText} (${info.exchange === '' ? `queue '${info.routingKey}'` : `exchange '${info.exchange}', routing key '${info.routingKey}'`})`,
          {
            code: 'COMMS_ERR_AMQP_NO_ROUTE',
            hint: 'no queue is bound there: start a responder (comms-cli amqp reply QUEUE --declare)',
          },
        ),
      );
      return;
    }
    for (let i = state.head; i < state.unconfirmed.length; i++) {
      const u = state.unconfirmed[i] as Unconfirmed;
      if (
        !u.settled &&
        u.returned === undefined &&
        u.exchange === info.exchange &&
        u.routingKey === info.routingKey
      ) {
        u.returned = info;
        break;
      }
    }
  }

  /** Publish one message of a batch; its confirm (nothing without confirms) lands in `tally`. */
  #publishCounted(state: ChannelState, m: OutgoingAmqp, tally: ConfirmTally): boolean {
    if (!this.#options.confirm) return state.ch.publish(m.exchange, m.routingKey, m.content, m.options);
    const entry: Unconfirmed = { exchange: m.exchange, routingKey: m.routingKey };
    state.unconfirmed.push(entry);
    tally.pending += 1;
    return (state.ch as ConfirmChannel).publish(
      m.exchange,
      m.routingKey,
      m.content,
      m.options,
      (err: unknown) => {
        settle(state, entry);
        // amqplib fails every outstanding confirm when the channel closes: that is the channel's error.
        if (err && state.error) tally.fail(state.error);
        else tally.confirm(entry.returned, Boolean(err));
      },
    );
  }

  attempt(call: AmqpCall, ctx: AttemptContext): Promise<AmqpReply> {
    // Load mode's hot path: the channel and the reply consumer are up, so a request needs no await
    // (and no signal race) before it is sent.
    const ready = this.#ready;
    if (call.op === 'request' && ready?.consuming && !ready.error && !ctx.signal.aborted)
      return this.#request(ready, call, ctx);
    return this.#attempt(call, ctx);
  }

  async #attempt(call: AmqpCall, ctx: AttemptContext): Promise<AmqpReply> {
    const state = await this.channel(ctx).catch((err: unknown) => {
      throw amqpError(err, this.#options.endpoint.display, ctx.signal);
    });
    if (call.op === 'request') return this.#request(state, call, ctx);
    let count = 0;
    let bytes = 0;
    // Confirms are counted, not awaited one by one: a 20,000-message batch is 20,000 callbacks, not
    // 20,000 promises (their allocation and GC were a third of the batch's CPU).
    const tally = new ConfirmTally();
    const send = (m: OutgoingAmqp): boolean => {
      count += 1;
      bytes += m.content.byteLength;
      return this.#publishCounted(state, m, tally);
    };
    const backpressure = () => raceSignal(Promise.race([drained(state.ch), state.failed]), ctx.signal);
    try {
      const source = call.messages();
      if (Symbol.iterator in source) {
        for (const m of source) {
          if (ctx.signal.aborted || state.error) break;
          if (!send(m)) await backpressure();
        }
      } else {
        for await (const m of source) {
          if (!send(m)) await backpressure();
          if (ctx.signal.aborted || state.error) break;
        }
      }
      if (state.error) throw state.error;
      if (ctx.signal.aborted)
        return {
          op: 'publish',
          count,
          bytes,
          returned: [],
          nacked: 0,
          stopped: abortReasonToError(ctx.signal.reason),
        };
      await raceSignal(Promise.race([tally.settled(), state.failed]), ctx.signal);
      if (tally.error) throw tally.error;
      if (this.#options.confirm && count > 0)
        ctx.timing.set('firstByte', performance.now() - ctx.timing.start);
      return { op: 'publish', count, bytes, returned: tally.returned, nacked: tally.nacked };
    } catch (err) {
      if (ctx.signal.aborted && count > 0)
        return {
          op: 'publish',
          count,
          bytes,
          returned: [],
          nacked: 0,
          stopped: abortReasonToError(ctx.signal.reason),
        };
      throw amqpError(err, call.target, ctx.signal);
    }
  }

  async #request(
    state: ChannelState,
    call: AmqpCall & { op: 'request' },
    ctx: AttemptContext,
  ): Promise<AmqpReply> {
    if (!state.replyConsumer) {
      state.replyConsumer = state.ch.consume(
        DIRECT_REPLY_TO,
        (msg) => {
          if (!msg) return;
          const corr = msg.properties.correlationId as string | undefined;
          const waiting = corr !== undefined ? state.replies.get(corr) : undefined;
          if (!waiting) return; // a late reply to a request that already timed out
          state.replies.delete(corr as string);
          waiting.resolve(msg);
        },
        { noAck: true },
      );
      state.replyConsumer.catch(() => undefined);
    }
    if (!state.consuming) {
      await raceSignal(Promise.race([state.replyConsumer, state.failed]), ctx.signal);
      state.consuming = true;
    }
    const m = call.message;
    const correlationId = m.options.correlationId ?? randomUUID();
    const signal = ctx.signal;
    // One pending entry per request, rejected by a channel failure (down() rejects every waiting
    // reply), a nack, a return, or the attempt's signal: one promise and one abort listener, where a
    // race of the reply, the channel and the signal cost three promises and a listener more.
    let unlisten: (() => void) | undefined;
    try {
      if (state.error) throw state.error;
      if (signal.aborted) throw abortReasonToError(signal.reason);
      const reply = new Promise<ConsumeMessage>((resolve, reject) => {
        state.replies.set(correlationId, { resolve, reject });
        unlisten = listenAbort(ctx, () => reject(abortReasonToError(signal.reason)));
      });
      const options = { ...m.options, correlationId, replyTo: DIRECT_REPLY_TO, mandatory: true };
      if (this.#options.confirm) {
        (state.ch as ConfirmChannel).publish(m.exchange, m.routingKey, m.content, options, (err: unknown) => {
          // A failed channel fails every outstanding confirm: that is the channel's error, which
          // reaches the reply through down(); anything else is the broker's nack.
          if (!err || state.error) return;
          const waiting = state.replies.get(correlationId);
          state.replies.delete(correlationId);
          waiting?.reject(
            new ResponseError('the broker nacked the request', { code: 'COMMS_ERR_AMQP_NACK' }),
          );
        });
      } else {
        state.ch.publish(m.exchange, m.routingKey, m.content, options);
      }
      const msg = await reply;
      ctx.timing.set('firstByte', performance.now() - ctx.timing.start);
      return {
        op: 'request',
        headers: headersOf(msg),
        properties: propertiesOf(msg),
        data: msg.content,
        correlationId,
      };
    } catch (err) {
      if (ctx.signal.aborted) {
        const why = abortReasonToError(ctx.signal.reason);
        if (why.kind === 'timeout')
          throw new TimeoutError(`no reply from '${call.target}' in time`, {
            cause: err,
            code: 'COMMS_ERR_AMQP_TIMEOUT',
            hint: 'is a responder consuming that queue? (comms-cli amqp reply QUEUE)',
          });
        throw why;
      }
      throw amqpError(err, call.target);
    } finally {
      state.replies.delete(correlationId);
      unlisten?.();
    }
  }

  classify(outcome: Outcome<AmqpReply>, call: AmqpCall): Verdict {
    return classify(outcome, call);
  }

  describe(reply: AmqpReply): ResultFields {
    if (reply.op === 'publish') {
      return {
        count: reply.count,
        bytes: reply.bytes,
        ...(reply.returned.length ? { returned: reply.returned } : {}),
        ...(reply.nacked ? { nacked: reply.nacked } : {}),
      };
    }
    const { data, encoding } = decodeData(reply.data);
    return {
      headers: reply.headers ?? {},
      ...(Object.keys(reply.properties).length ? { properties: reply.properties } : {}),
      data,
      encoding,
      size: reply.data.byteLength,
      correlationId: reply.correlationId,
    };
  }

  async close(): Promise<void> {
    const state = this.#state;
    const conn = this.#conn;
    this.#state = undefined;
    this.#ready = undefined;
    this.#conn = undefined;
    if (state) {
      try {
        const s = await state;
        if (!s.error) await s.ch.close().catch(() => undefined);
      } catch {
        // never opened
      }
    }
    if (conn) await closeAmqp(await conn.catch(() => undefined));
  }
}

/** The confirms of one batch, in publish order (the broker confirms in order). */
class ConfirmTally {
  pending = 0;
  nacked = 0;
  readonly returned: Returned[] = [];
  error: CommsError | undefined;
  #wake: (() => void) | undefined;

  confirm(returned: Returned | undefined, nacked: boolean): void {
    if (returned) this.returned.push(returned);
    if (nacked) this.nacked += 1;
    this.#done();
  }

  fail(err: CommsError): void {
    this.error ??= err;
    this.#done();
  }

  #done(): void {
    this.pending -= 1;
    if (this.pending === 0) this.#wake?.();
  }

  /** Resolves when every publish so far is confirmed, nacked or failed. */
  settled(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }
}

/** Mark a publish confirmed (or failed) and move the head past the settled ones. */
function settle(state: ChannelState, entry: Unconfirmed): void {
  entry.settled = true;
  const list = state.unconfirmed;
  while (state.head < list.length && (list[state.head] as Unconfirmed).settled) state.head += 1;
  if (state.head === list.length) {
    list.length = 0;
    state.head = 0;
  } else if (state.head > 1024 && state.head * 2 > list.length) {
    list.splice(0, state.head);
    state.head = 0;
  }
}

function drained(ch: Channel): Promise<void> {
  return new Promise((resolve) => ch.once('drain', () => resolve()));
}
