import type { JetStreamClient } from '@nats-io/jetstream';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { performance } from '../../core/clock.js';
import { decodeData } from '../../core/message-data.js';
import type {
  AttemptContext,
  CallBase,
  Outcome,
  ResultFields,
  Transport,
  Verdict,
} from '../../core/transport.js';
import { abortReasonToError } from '../../errors/classify.js';
import {
  CommsError,
  ConnectError,
  ResponseError,
  TimeoutError,
  UsageError,
} from '../../errors/comms-error.js';
import type { NatsCall, NatsReply, OutgoingMessage } from './call.js';
import { classify } from './classify.js';
import { closeNats, connectNats } from './connection.js';
import { describeServers, type NatsConnectOptions } from './connection-options.js';
import { JS_API_CODES, natsError } from './errors.js';
import { toHeaders } from './headers.js';
import { boundedHeaders, headersToRecord } from './message.js';
import { RequestMux } from './request-mux.js';

export type { NatsCall, NatsReply, OutgoingMessage } from './call.js';

/**
 * The NATS adapter of the one Transport interface. It connects lazily on the first attempt (so a
 * refused connection is an attempt like any other, retried when --retries allows) and keeps the
 * connection for the rest of the run (load mode, --count). What is retried is decided in classify.ts.
 */
export class NatsTransport implements Transport<NatsCall, NatsReply> {
  readonly kind = 'nats' as const;
  readonly #options: NatsConnectOptions;
  readonly #timeoutMs: number;
  /** Request options without headers: one object for every request (nats.js only reads it). */
  readonly #plain: { timeout: number };
  readonly #onConnect: ((nc: NatsConnection) => void) | undefined;
  #nc: Promise<NatsConnection> | undefined;
  /** The connection once it is up (close drains it; a connect still pending is not waited for). */
  #live: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  /** Requests with a pooled per-attempt deadline go through this (made on the first such request). */
  #mux: RequestMux | undefined;
  #muxConnection: NatsConnection | undefined;

  /**
   * @param timeoutMs the per-attempt --timeout, handed to nats.js as its own request/ack timeout
   * @param onConnect called once with the live connection (reconnect reporting, stream setup)
   */
  constructor(
    options: NatsConnectOptions,
    timeoutMs: number,
    onConnect?: (nc: NatsConnection) => void | Promise<void>,
  ) {
    this.#options = options;
    this.#timeoutMs = timeoutMs;
    this.#plain = { timeout: timeoutMs };
    this.#onConnect = onConnect;
  }

  /** The connection, made on first use. A failed connect is forgotten so a retry connects again. */
  async connection(ctx?: AttemptContext): Promise<NatsConnection> {
    if (!this.#nc) {
      const started = performance.now();
      const pending = connectNats(this.#options).then(async (nc) => {
        try {
          await this.#onConnect?.(nc);
        } catch (err) {
          // Setup failed (e.g. --stream could not be created): release the connection, report the error.
          await nc.close().catch(() => undefined);
          throw err;
        }
        if (this.#nc === pending) this.#live = nc;
        return nc;
      });
      this.#nc = pending;
      pending.catch(() => {
        if (this.#nc === pending) this.#nc = undefined;
      });
      let nc: NatsConnection;
      try {
        nc = await raceSignal(pending, ctx?.signal);
      } catch (err) {
        // The attempt's deadline (--timeout, --max-time) ran out while connecting: say it was the connect.
        if (err instanceof CommsError && err.kind === 'timeout' && ctx?.signal?.aborted)
          throw new TimeoutError(`connect to ${describeServers(this.#options.servers)} ${err.message}`, {
            cause: err,
            code: 'COMMS_ERR_NATS_CONNECT_TIMEOUT',
            hint: 'the server did not complete the NATS handshake in time (no INFO, or a TLS handshake that never finished)',
          });
        throw err;
      }
      ctx?.timing.set('connect', performance.now() - started);
      return nc;
    }
    return raceSignal(this.#nc, ctx?.signal);
  }

  attempt(call: NatsCall, ctx: AttemptContext): Promise<NatsReply> {
    // Connected: a request goes straight out (load mode's hot path: no await on the connection, one
    // promise and one abort listener per request).
    const live = this.#live;
    if (live !== undefined && call.op === 'request') return this.#request(live, call, ctx);
    return this.#attempt(call, ctx);
  }

  /** One request: the reply, or a typed error (the attempt's signal aborting wins: --timeout, Ctrl-C). */
  #request(nc: NatsConnection, call: NatsCall & { op: 'request' }, ctx: AttemptContext): Promise<NatsReply> {
    const m = call.message;
    const signal = ctx.signal;
    try {
      checkSize(nc, m);
    } catch (err) {
      return Promise.reject(err);
    }
    if (signal.aborted) return Promise.reject(abortReasonToError(signal.reason));
    // The attempt's pooled deadline (load mode, and any call without --max-time) is the request's
    // timeout: through this transport's own inbox mux (see request-mux.ts for why not nc.request).
    if (ctx.onAbort) {
      let mux = this.#mux;
      if (mux === undefined || this.#muxConnection !== nc || !mux.usable) {
        try {
          mux = new RequestMux(nc, requestReply);
        } catch (err) {
          return Promise.reject(natsError(err, call.target, signal));
        }
        this.#mux = mux;
        this.#muxConnection = nc;
      }
      return mux.request<NatsReply>(m, call.target, ctx);
    }
    const options = m.headers ? { timeout: this.#timeoutMs, headers: toHeaders(m.headers) } : this.#plain;
    return new Promise<NatsReply>((resolve, reject) => {
      const onAbort = () => reject(abortReasonToError(signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
      nc.request(m.subject, m.data, options).then(
        (msg) => {
          signal.removeEventListener('abort', onAbort);
          ctx.timing.set('firstByte', performance.now() - ctx.timing.start);
          resolve(requestReply(msg));
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(natsError(err, call.target, signal));
        },
      );
    });
  }

  async #attempt(call: NatsCall, ctx: AttemptContext): Promise<NatsReply> {
    const nc = await this.connection(ctx);
    switch (call.op) {
      case 'request':
        return this.#request(nc, call, ctx);
      case 'publish': {
        let count = 0;
        let bytes = 0;
        const max = nc.info?.max_payload;
        const send = (m: OutgoingMessage) => {
          if (max !== undefined && m.data.byteLength + (m.headers ? headerBlockEstimate(m.headers) : 0) > max)
            checkSize(nc, m);
          if (!m.headers && !m.replyTo) nc.publish(m.subject, m.data);
          else {
            nc.publish(m.subject, m.data, {
              ...(m.headers ? { headers: toHeaders(m.headers) } : {}),
              ...(m.replyTo ? { reply: m.replyTo } : {}),
            });
          }
          count += 1;
          bytes += m.data.byteLength;
        };
        try {
          const repeat = call.repeat;
          if (repeat) {
            // One message N times: no per-message allocation, check or iterator step. The loop is
            // synchronous, so nothing can abort it half-way (Ctrl-C is seen before and after).
            const m = repeat.message;
            if (ctx.signal.aborted)
              return { op: 'publish', count, bytes, stopped: abortReasonToError(ctx.signal.reason) };
            checkSize(nc, m);
            const options =
              m.headers || m.replyTo
                ? {
                    ...(m.headers ? { headers: toHeaders(m.headers) } : {}),
                    ...(m.replyTo ? { reply: m.replyTo } : {}),
                  }
                : {}; // one options object for the batch (nats.js would make one per message)
            const { subject, data } = m;
            for (; count < repeat.count; count++) nc.publish(subject, data, options);
            bytes = count * data.byteLength;
          }
          const source = repeat ? [] : call.messages();
          if (Symbol.iterator in source) {
            // A plain loop for generated batches: `for await` would yield a microtask per message, and
            // nats.js flushes its outbound buffer on microtasks, turning a batch into a write per message.
            for (const m of source) {
              if (ctx.signal.aborted) break;
              send(m);
            }
          } else {
            // A stream (stdin --lines): a message read is sent; the source itself ends on Ctrl-C.
            for await (const m of source) {
              send(m);
              if (ctx.signal.aborted) break;
            }
          }
          // Interrupted: what went out is reported (close() drains it to the server), not a bare failure.
          if (ctx.signal.aborted)
            return { op: 'publish', count, bytes, stopped: abortReasonToError(ctx.signal.reason) };
          // The flush is the round trip that proves the server has every message.
          await raceSignal(nc.flush(), ctx.signal);
        } catch (err) {
          throw natsError(err, call.target, ctx.signal);
        }
        return { op: 'publish', count, bytes };
      }
      case 'js-publish': {
        const js = await this.jetstream(nc);
        const m = call.message;
        checkSize(nc, m);
        try {
          const ack = await raceSignal(
            js.publish(m.subject, m.data, {
              timeout: this.#timeoutMs,
              ...(call.msgId ? { msgID: call.msgId } : {}),
              ...(call.expectStream ? { expect: { streamName: call.expectStream } } : {}),
              ...(m.headers ? { headers: toHeaders(m.headers) } : {}),
            }),
            ctx.signal,
          );
          ctx.timing.set('firstByte', performance.now() - ctx.timing.start);
          return {
            op: 'js-publish',
            stream: ack.stream,
            seq: ack.seq,
            duplicate: ack.duplicate,
            domain: ack.domain,
            msgId: call.msgId,
          };
        } catch (err) {
          if (call.expectStream && !ctx.signal.aborted && jsApiCode(err) === JS_API_CODES.streamMismatch) {
            // jetstream.ts loads @nats-io/jetstream: only here, never for core calls.
            const { streamFor } = await import('./jetstream.js');
            const actual = await streamFor(nc, m.subject);
            throw new ResponseError(
              actual
                ? `'${m.subject}' is stored by stream ${actual}, not ${call.expectStream} (--expect-stream): not stored`
                : `no stream named ${call.expectStream} takes '${m.subject}' (--expect-stream): not stored`,
              { cause: err, code: 'COMMS_ERR_NATS_EXPECT_STREAM' },
            );
          }
          const typed = natsError(err, call.target, ctx.signal);
          if (typed.code === 'COMMS_ERR_NATS_NO_RESPONDERS') {
            throw new ConnectError(`no JetStream stream acknowledged '${m.subject}'`, {
              cause: err,
              code: 'COMMS_ERR_NATS_NO_RESPONDERS',
              hint: 'no stream covers that subject (or JetStream is off); --stream NAME creates one',
            });
          }
          throw typed;
        }
      }
    }
  }

  async jetstream(nc?: NatsConnection): Promise<JetStreamClient> {
    if (!this.#js) {
      const { jetstream } = await import('@nats-io/jetstream');
      this.#js = jetstream(nc ?? (await this.connection()), { timeout: this.#timeoutMs });
    }
    return this.#js;
  }

  classify(outcome: Outcome<NatsReply>, call: NatsCall): Verdict {
    return classify(outcome, call);
  }

  describe(reply: NatsReply, call?: CallBase): ResultFields {
    switch (reply.op) {
      case 'request': {
        if (call && 'skipDescribe' in call && call.skipDescribe === true) return {};
        const headers = headersToRecord(reply.headers);
        const { data, encoding } = decodeData(reply.data);
        return {
          ...(headers ? { headers } : {}),
          data,
          encoding,
          size: reply.data.byteLength,
        };
      }
      case 'publish':
        return { count: reply.count, bytes: reply.bytes };
      default:
        return {
          stream: reply.stream,
          seq: reply.seq,
          duplicate: reply.duplicate,
          ...(reply.domain ? { domain: reply.domain } : {}),
          ...(reply.msgId ? { msgId: reply.msgId } : {}),
        };
    }
  }

  async close(): Promise<void> {
    const pending = this.#nc;
    const live = this.#live;
    this.#nc = undefined;
    this.#live = undefined;
    this.#mux = undefined;
    this.#muxConnection = undefined;
    if (!pending) return;
    if (live) {
      // drain, not close: anything published but not yet flushed still goes out.
      await closeNats(live).catch(() => undefined);
      return;
    }
    // Still connecting (a server that never sends INFO, a TLS handshake that never ends): the verdict
    // is out, so do not wait for the connect to give up; close it if it ever completes. What is left
    // open is the CLI's exit grace timer's to end.
    void pending.then(
      (nc) => nc.close().catch(() => undefined),
      () => undefined,
    );
  }
}

/** A request's reply as the pipeline carries it (headers decoded only when within the bound). */
function requestReply(msg: Msg): NatsReply {
  const { headers, dropped } = boundedHeaders(msg);
  return dropped !== undefined
    ? { op: 'request', headers, headersDropped: dropped, data: msg.data }
    : { op: 'request', headers, data: msg.data };
}

/**
 * Refuse a message the server's max_payload (from its INFO) would refuse, naming both sizes, before
 * anything is sent (exit 2). nats.js says only "max_payload size exceeded".
 */
export function checkSize(nc: NatsConnection, m: OutgoingMessage): void {
  const max = nc.info?.max_payload;
  if (max === undefined) return;
  const headerBytes = m.headers ? Buffer.byteLength(String(toHeaders(m.headers))) : 0;
  const size = m.data.byteLength + headerBytes;
  if (size <= max) return;
  const n = (x: number) => x.toLocaleString('en-US');
  throw new UsageError(
    `message of ${n(size)} bytes${headerBytes ? ` (payload ${n(m.data.byteLength)} + headers ${n(headerBytes)})` : ''} is larger than the server's max_payload of ${n(max)} bytes: not sent`,
    {
      code: 'COMMS_ERR_NATS_MAX_PAYLOAD',
      hint: 'send a smaller message, or raise max_payload in the nats-server configuration',
    },
  );
}

/** An upper-bound-ish size of encoded headers, so the exact (allocating) check runs only near the limit. */
function headerBlockEstimate(headers: NonNullable<OutgoingMessage['headers']>): number {
  let n = 12;
  for (const [k, v] of headers) n += Buffer.byteLength(k) + Buffer.byteLength(v) + 4;
  return n;
}

function jsApiCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Resolve with `p`, or reject with the signal's typed reason (timeout, Ctrl-C) as soon as it aborts. */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortReasonToError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReasonToError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
