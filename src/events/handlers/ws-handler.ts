import { performance } from '../../core/clock.js';
import { decodeData } from '../../core/message-data.js';
import type { CallOutcome, CallPipeline } from '../../core/run-call.js';
import type {
  AttemptContext,
  CallBase,
  Outcome,
  ResultFields,
  Transport,
  Verdict,
} from '../../core/transport.js';
import { abortReasonToError } from '../../errors/classify.js';
import { ConnectError, ResponseError, TimeoutError } from '../../errors/comms-error.js';
import { WsTransport } from '../../transports/ws/adapter.js';
import type { WsCall, WsHandshake } from '../../transports/ws/call.js';
import { closeName } from '../../transports/ws/classify.js';
import type { WsConnection, WsEvent } from '../../transports/ws/connection.js';
import { wsError } from '../../transports/ws/errors.js';
import type { StoredEvent } from '../event.js';
import { connectTimedOut, type EventHandler, eventPayload, REPLY_KEEP_BYTES } from './event-handler.js';

/** One event to send over the handler's connection (opened by `handshake` when there is none). */
interface WsEventCall extends CallBase {
  readonly handshake: WsCall;
  readonly payload: Buffer;
}

type WsAck =
  /** The upgrade was refused (an HTTP answer instead of 101). */
  | { readonly kind: 'refused'; readonly handshake: WsHandshake }
  /** The peer's next message after the event: its acknowledgement. */
  | { readonly kind: 'reply'; readonly data: Buffer; readonly size: number; readonly binary: boolean };

/**
 * `--to ws(s)://URL`: one WebSocket connection for the run (reopened when it drops), each event sent
 * as one text message of its JSON. WebSocket has no delivery receipt: a send that left our socket
 * buffer says nothing about whether the peer took it (the connection may already be dying, the peer
 * may drop it). So **handled means the peer answered**: the next message it sends after the event,
 * within --timeout, is the event's acknowledgement. Any reply counts, except a JSON object with
 * `"ok": false`, which is the handler saying it failed (its `error` text is the reason). The peer
 * closing before it answers, or no answer in time, is a failure and is retried; after a timeout the
 * connection is dropped, so a late answer cannot be taken for the next event's. Messages the peer
 * sends while no event is waiting (a greeting) are ignored. The upgrade goes through the WebSocket
 * transport: a refused upgrade is the handler answering with a failure (503/502/504/429 retried).
 */
export function createWsHandler(url: URL, target: string): EventHandler {
  const transport = new WsHandlerTransport();
  const handshake: WsCall = {
    target,
    operation: 'upgrade',
    url,
    headers: {},
    protocols: [],
    tls: { insecure: false },
  };
  return {
    target,
    deliver(pipeline: CallPipeline, event: StoredEvent): Promise<CallOutcome<unknown>> {
      const call: WsEventCall = { target, operation: 'send', handshake, payload: eventPayload(event) };
      return pipeline.run(transport, call);
    },
    close: () => transport.close(),
  };
}

class WsHandlerTransport implements Transport<WsEventCall, WsAck> {
  readonly kind = 'ws' as const;
  readonly #inner = new WsTransport();
  #conn: WsConnection | undefined;
  /** Where the connection's events go while an event waits for its answer. */
  #waiting: ((e: WsEvent) => void) | undefined;

  async attempt(call: WsEventCall, ctx: AttemptContext): Promise<WsAck> {
    let conn = this.#conn;
    if (!conn || conn.closed) {
      this.#conn = undefined;
      const started = performance.now();
      let handshake: WsHandshake;
      try {
        handshake = await this.#inner.attempt(call.handshake, ctx);
      } catch (err) {
        const typed = ctx.signal.aborted ? abortReasonToError(ctx.signal.reason) : err;
        throw connectTimedOut(typed, {
          target: call.target,
          ms: performance.now() - started,
          protocol: 'WebSocket',
        });
      }
      if (handshake.status !== 101 || !handshake.connection) return { kind: 'refused', handshake };
      conn = handshake.connection;
      this.#conn = conn;
      conn.attach((e) => this.#waiting?.(e));
    }
    return this.#exchange(conn, call, ctx);
  }

  #exchange(conn: WsConnection, call: WsEventCall, ctx: AttemptContext): Promise<WsAck> {
    return new Promise<WsAck>((resolve, reject) => {
      const done = (fn: () => void) => {
        this.#waiting = undefined;
        ctx.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const onAbort = () =>
        done(() => {
          // A late answer must not be taken for the next event's: start the next one afresh.
          this.#drop(conn);
          const why = abortReasonToError(ctx.signal.reason);
          reject(
            why.kind === 'timeout'
              ? new TimeoutError(`no answer from ${call.target} in time`, {
                  cause: why,
                  code: 'COMMS_ERR_WS_NO_ANSWER',
                  hint: 'a ws: handler must answer each event with a message (see docs/events.md)',
                })
              : why,
          );
        });
      if (ctx.signal.aborted) {
        onAbort();
        return;
      }
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting = (e) => {
        if (e.type === 'pong') return;
        if (e.type === 'message') {
          ctx.timing.set('firstByte', performance.now() - ctx.timing.start);
          done(() =>
            resolve({
              kind: 'reply',
              data: e.data.length > REPLY_KEEP_BYTES ? e.data.subarray(0, REPLY_KEEP_BYTES) : e.data,
              size: e.data.length,
              binary: e.binary,
            }),
          );
        } else if (e.type === 'close')
          done(() =>
            reject(
              new ResponseError(
                `${call.target} closed the connection (${closeName(e.code)}${e.reason ? `: ${e.reason}` : ''}) before answering the event`,
                { code: 'COMMS_ERR_WS_CLOSED' },
              ),
            ),
          );
        else done(() => reject(wsError(e.error, call.target)));
      };
      if (conn.closed) {
        done(() =>
          reject(
            new ConnectError(`the connection to ${call.target} closed`, { code: 'COMMS_ERR_WS_CLOSED' }),
          ),
        );
        return;
      }
      conn.socket.send(call.payload, { binary: false }, (err) => {
        if (err && this.#waiting) done(() => reject(wsError(err, call.target)));
      });
    });
  }

  #drop(conn: WsConnection): void {
    if (this.#conn === conn) this.#conn = undefined;
    conn.terminate();
  }

  classify(outcome: Outcome<WsAck>, call: WsEventCall): Verdict {
    if (outcome.error) {
      const { error } = outcome;
      // The peer closing mid-event, a timeout, a refused connection: sending the event again is safe.
      const transient =
        error.kind === 'connect' || error.kind === 'timeout' || error.code === 'COMMS_ERR_WS_CLOSED';
      return {
        ok: false,
        retryable: transient,
        peerFault: true,
        error,
        status: error.code === 'COMMS_ERR_WS_CLOSED' ? 'closed' : error.kind,
      };
    }
    const { reply } = outcome;
    if (reply.kind === 'refused') return this.#inner.classify({ reply: reply.handshake }, call.handshake);
    const failure = failureIn(reply);
    if (failure !== undefined)
      return {
        ok: false,
        retryable: false,
        peerFault: true,
        status: 'failed',
        error: new ResponseError(`the handler answered with a failure${failure ? `: ${failure}` : ''}`, {
          code: 'COMMS_ERR_HANDLER',
        }),
      };
    return { ok: true, retryable: false, peerFault: false, status: 'answered' };
  }

  describe(reply: WsAck): ResultFields {
    if (reply.kind === 'refused') return this.#inner.describe(reply.handshake);
    const { data, encoding } = decodeData(reply.data);
    return {
      data,
      encoding,
      size: reply.size,
      ...(reply.size > reply.data.length ? { truncated: true } : {}),
    };
  }

  async close(): Promise<void> {
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn && !conn.closed) {
      // A polite close (1000), bounded: a peer that never answers the close is dropped.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          conn.terminate();
          resolve();
        }, 1_000);
        timer.unref();
        conn.socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        conn.socket.close(1000, 'dispatch done');
      });
    }
    await this.#inner.close();
  }
}

/** A JSON object answer with `"ok": false` is the handler's failure: its `error` (or `message`) text. */
function failureIn(reply: { data: Buffer; binary: boolean }): string | undefined {
  if (reply.binary || reply.data[0] !== 0x7b /* { */) return undefined;
  try {
    const parsed = JSON.parse(reply.data.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null || (parsed as { ok?: unknown }).ok !== false)
      return undefined;
    const why =
      (parsed as { error?: unknown; message?: unknown }).error ?? (parsed as { message?: unknown }).message;
    return typeof why === 'string' ? why : why === undefined ? '' : JSON.stringify(why);
  } catch {
    return undefined;
  }
}
