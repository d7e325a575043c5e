import WebSocket from 'ws';
import { performance } from '../../core/clock.js';
import { type PathStep, walkSteps } from '../../core/paths.js';
import { listenAbort } from '../../core/race-signal.js';
import { TimingRecorder } from '../../core/timing.js';
import type {
  AttemptContext,
  AttemptSink,
  CallBase,
  Outcome,
  ResultFields,
  Transport,
  Verdict,
} from '../../core/transport.js';
import { ConnectError, ResponseError } from '../../errors/comms-error.js';
import type { ConnectionStats } from '../../load/connections.js';
import { WsTransport } from './adapter.js';
import type { WsCall } from './call.js';
import { closeName } from './classify.js';
import type { WsConnection, WsEvent } from './connection.js';
import { wsError } from './errors.js';

/** One load-mode message: sent on one of the pooled connections, answered by one reply. */
export interface WsMessageCall extends CallBase {
  readonly seq: number;
  readonly payload: string | Buffer;
  readonly binary: boolean;
  /** --reply-match: the request's id (the value at the path, as a key). */
  readonly id?: string;
}

/** The reply that paired with a message. */
export interface WsMessageReply {
  data: Buffer;
  binary: boolean;
}

/** How long our closing handshakes may take at the end of a run before sockets are dropped. */
const CLOSE_WAIT_MS = 2_000;

/** The pairing key of a JSON value at the --reply-match path (strings as they are, others as JSON). */
export function replyKey(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** The message waiting for this reply, by the id at the --reply-match path (removed from the map). */
function waiterById(link: Link, data: Buffer, binary: boolean, path: PathStep[]): Waiter | undefined {
  if (binary) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  const got = walkSteps(doc, path);
  if (!got.found) return undefined;
  const key = replyKey(got.value);
  const w = link.byId.get(key);
  if (w) link.byId.delete(key);
  return w;
}

/** A connection closed while a message waited for its reply: its close code is the call's status. */
class ClosedError extends ResponseError {
  readonly closeCode: number;
  constructor(code: number, reason: string, target: string) {
    super(
      `connection closed by the peer (${closeName(code)}${reason ? `: ${reason}` : ''}) before the reply (${target})`,
      { code: 'COMMS_ERR_WS_CLOSED' },
    );
    this.closeCode = code;
  }
}

/** A message waiting for its reply: settled by the reply, the connection's close, or its signal. */
interface Waiter {
  resolve(reply: WsMessageReply): void;
  reject(err: unknown): void;
  /** Stop listening for the attempt's abort. */
  unlisten(): void;
}

function settle(w: Waiter, reply: WsMessageReply | undefined, err?: unknown): void {
  w.unlisten();
  if (reply) w.resolve(reply);
  else w.reject(err);
}

/** What an echo-mode message needs of its transport when it ends (private methods, shared once). */
interface SlotOwner {
  release(slot: Slot): void;
  drop(slot: Slot, link: Link): void;
}

/**
 * Echo mode's message waiting for its reply on an open connection: one object per message, which is
 * also the attempt's abort callback (no closures). It gives its slot back before it reports, so the
 * call that the runner starts from the report can take the same connection at once.
 */
class EchoWaiter implements Waiter {
  readonly #sink: AttemptSink<WsMessageReply>;
  readonly #owner: SlotOwner;
  readonly #slot: Slot;
  readonly #link: Link;
  readonly #ctx: AttemptContext;

  constructor(
    owner: SlotOwner,
    slot: Slot,
    link: Link,
    ctx: AttemptContext,
    sink: AttemptSink<WsMessageReply>,
  ) {
    this.#owner = owner;
    this.#slot = slot;
    this.#link = link;
    this.#ctx = ctx;
    this.#sink = sink;
    const set = ctx.onAbort;
    if (set) set(this);
    else ctx.signal.addEventListener('abort', this, { once: true });
  }

  resolve(reply: WsMessageReply): void {
    this.#owner.release(this.#slot);
    this.#sink.reply(reply);
  }

  reject(err: unknown): void {
    this.#owner.release(this.#slot);
    this.#sink.fail(err);
  }

  unlisten(): void {
    const set = this.#ctx.onAbort;
    if (set) set(undefined);
    else this.#ctx.signal.removeEventListener('abort', this);
  }

  /** The attempt's signal aborted (timeout, Ctrl-C). */
  handleEvent(): void {
    const link = this.#link;
    if (link.waiting !== this) return;
    link.waiting = undefined;
    // Its reply may still come: drop the connection so it cannot pair with the next message.
    this.#owner.drop(this.#slot, link);
    this.reject(this.#ctx.signal.reason);
  }
}

/** `ws` send options (copied by `send`, never modified). */
const BINARY = { binary: true } as const;
const TEXT = { binary: false } as const;

/** The verdict of every answered message (never modified by its readers). */
const REPLIED: Verdict = Object.freeze({ ok: true, retryable: false, peerFault: false, status: 'reply' });

/** One open connection and the messages waiting on it (a reconnection is a new Link). */
class Link {
  readonly conn: WsConnection;
  /** Echo mode: the one message waiting (the next frame is its reply). */
  waiting: Waiter | undefined;
  /** --reply-match: messages waiting, by id. */
  readonly byId = new Map<string, Waiter>();
  /** We are closing or dropping this connection: its close is not the peer's doing. */
  ours = false;

  constructor(conn: WsConnection) {
    this.conn = conn;
  }

  /** Open for sending: not closed, and no close frame received or sent yet. */
  get usable(): boolean {
    return !this.conn.closed && this.conn.socket.readyState === WebSocket.OPEN;
  }
}

/** One of the -c pooled connections, reconnected when a message finds it gone. */
class Slot {
  link: Link | undefined;
  connecting: Promise<Link> | undefined;
  inFlight = 0;
}

export interface WsLoadOptions {
  /** Connections (-c). */
  size: number;
  /** --reply-match path steps; absent: echo-style (the next frame on the connection is the reply). */
  replyPath?: PathStep[];
  /** Per-handshake timeout (--connect-timeout). */
  connectTimeoutMs: number;
  stats: ConnectionStats;
}

/**
 * Load mode's transport: `attempt` sends one message on a pooled connection and resolves with its
 * reply. The handshakes happen apart from the messages (`connectAll` before the clock starts, and a
 * reconnect inside the message that finds its connection gone) and are measured into `stats`, so the
 * message latency the runner records is the round trip (plus a reconnect only when one was needed).
 *
 * Echo-style, a connection carries one message at a time (nothing else could tell replies apart); a
 * message that times out or is aborted drops its connection, so its late reply can never pass for the
 * next message's. With --reply-match, messages share connections and replies pair by id, in any order.
 */
export class WsLoadTransport implements Transport<WsMessageCall, WsMessageReply> {
  readonly kind = 'ws' as const;
  readonly #handshakes = new WsTransport();
  readonly #call: WsCall;
  readonly #opts: WsLoadOptions;
  readonly #slots: Slot[];
  /** Echo mode: slots with no message in flight (a stack: the warmest connection first). */
  readonly #idle: Slot[];
  readonly #queue: ((slot: Slot) => void)[] = [];
  readonly #owner: SlotOwner = {
    release: (slot) => this.#release(slot),
    drop: (slot, link) => this.#drop(slot, link),
  };
  #closing = false;

  constructor(call: WsCall, opts: WsLoadOptions) {
    this.#call = call;
    this.#opts = opts;
    this.#slots = Array.from({ length: opts.size }, () => new Slot());
    this.#idle = [...this.#slots].reverse();
  }

  /** Open every connection at once (before the measured run); failures are counted, not thrown. */
  async connectAll(signal: AbortSignal): Promise<void> {
    await Promise.all(
      this.#slots.map((slot) =>
        this.#connect(slot, signal).catch(() => {
          // counted in stats; the message that finds the slot empty tries again
        }),
      ),
    );
  }

  attempt(call: WsMessageCall, ctx: AttemptContext): Promise<WsMessageReply> {
    return new Promise((resolve, reject) => this.attemptInto(call, ctx, { reply: resolve, fail: reject }));
  }

  attemptInto(call: WsMessageCall, ctx: AttemptContext, sink: AttemptSink<WsMessageReply>): void {
    // The common case: an idle slot whose connection is open, and an attempt not yet aborted.
    const slot = this.#opts.replyPath ? undefined : this.#idle[this.#idle.length - 1];
    const link = slot?.link;
    if (slot && link?.usable && !ctx.signal.aborted) {
      this.#idle.pop();
      link.waiting = new EchoWaiter(this.#owner, slot, link, ctx, sink);
      // No send callback: the link is open (checked just now), and a write that fails later
      // ends the connection, whose close rejects every message waiting on it.
      link.conn.socket.send(call.payload, call.binary ? BINARY : TEXT);
      return;
    }
    (this.#opts.replyPath ? this.#matched(call, ctx) : this.#echo(call, ctx)).then(
      (reply) => sink.reply(reply),
      (err: unknown) => sink.fail(err),
    );
  }

  async #echo(call: WsMessageCall, ctx: AttemptContext): Promise<WsMessageReply> {
    const slot = this.#idle.pop() ?? (await this.#waitIdle(ctx.signal));
    try {
      const open = this.#linkOf(slot, ctx.signal);
      const link = open instanceof Link ? open : await open;
      return await new Promise<WsMessageReply>((resolve, reject) => {
        const { signal } = ctx;
        const onAbort = () => {
          link.waiting = undefined;
          // Its reply may still come: drop the connection so it cannot pair with the next message.
          this.#drop(slot, link);
          reject(signal.reason);
        };
        if (signal.aborted) {
          onAbort();
          return;
        }
        link.waiting = { resolve, reject, unlisten: listenAbort(ctx, onAbort) };
        // No send callback: the link is open (checked just now), and a write that fails later
        // ends the connection, whose close rejects every message waiting on it.
        link.conn.socket.send(call.payload, call.binary ? BINARY : TEXT);
      });
    } finally {
      this.#release(slot);
    }
  }

  async #matched(call: WsMessageCall, ctx: AttemptContext): Promise<WsMessageReply> {
    const slot = this.#leastLoaded();
    const id = call.id ?? '';
    slot.inFlight += 1;
    try {
      const open = this.#linkOf(slot, ctx.signal);
      const link = open instanceof Link ? open : await open;
      return await new Promise<WsMessageReply>((resolve, reject) => {
        const { signal } = ctx;
        const onAbort = () => {
          link.byId.delete(id);
          reject(signal.reason);
        };
        if (signal.aborted) {
          onAbort();
          return;
        }
        link.byId.set(id, { resolve, reject, unlisten: listenAbort(ctx, onAbort) });
        link.conn.socket.send(call.payload, call.binary ? BINARY : TEXT);
      });
    } finally {
      slot.inFlight -= 1;
    }
  }

  /** The slot's open connection, or a new one (a connection the peer is closing is not reused). */
  #linkOf(slot: Slot, signal: AbortSignal): Promise<Link> | Link {
    const link = slot.link;
    if (link?.usable) return link;
    slot.link = undefined;
    return this.#connect(slot, signal);
  }

  #leastLoaded(): Slot {
    let best = this.#slots[0] as Slot;
    for (const s of this.#slots) {
      if (s.inFlight < best.inFlight) best = s;
      if (best.inFlight === 0 && best.link) break;
    }
    return best;
  }

  #waitIdle(signal: AbortSignal): Promise<Slot> {
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#queue.indexOf(take);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(signal.reason);
      };
      const take = (slot: Slot) => {
        signal.removeEventListener('abort', onAbort);
        resolve(slot);
      };
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(take);
    });
  }

  #release(slot: Slot): void {
    const next = this.#queue.shift();
    if (next) next(slot);
    else this.#idle.push(slot);
  }

  /** One handshake for a slot (shared by the messages that find it empty), measured into stats. */
  #connect(slot: Slot, signal: AbortSignal): Promise<Link> {
    if (this.#closing) return Promise.reject(new ConnectError('the run is over'));
    slot.connecting ??= this.#handshake(slot, signal).finally(() => {
      slot.connecting = undefined;
    });
    return slot.connecting;
  }

  async #handshake(slot: Slot, signal: AbortSignal): Promise<Link> {
    const stats = this.#opts.stats;
    const timing = new TimingRecorder();
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(this.#opts.connectTimeoutMs)]);
    let outcome: Outcome<Awaited<ReturnType<WsTransport['attempt']>>>;
    try {
      outcome = {
        reply: await this.#handshakes.attempt(this.#call, { signal: bounded, attempt: 1, timing }),
      };
    } catch (err) {
      const e = wsError(err, this.#call.target, bounded);
      // Ctrl-C is not a failed handshake; one cut off by the message's --timeout is (kind timeout).
      if (e.kind !== 'interrupted') stats.failure(e.kind);
      throw e;
    }
    const verdict = this.#handshakes.classify(outcome, this.#call);
    const conn = outcome.reply.connection;
    if (!verdict.ok || !conn) {
      stats.failure(String(outcome.reply.status));
      conn?.terminate();
      throw verdict.error ?? new ResponseError(`upgrade refused: HTTP ${outcome.reply.status}`);
    }
    stats.handshake(performance.now() - timing.start);
    if (this.#closing) {
      conn.terminate();
      throw new ConnectError('the run is over');
    }
    const link = new Link(conn);
    slot.link = link;
    conn.attach(
      (e) => this.#onEvent(slot, link, e),
      (data, binary) => this.#onMessage(link, data, binary),
    );
    return link;
  }

  #onMessage(link: Link, data: Buffer, binary: boolean): void {
    const path = this.#opts.replyPath;
    let w: Waiter | undefined;
    if (!path) {
      w = link.waiting;
      link.waiting = undefined;
    } else w = waiterById(link, data, binary, path);
    if (w) settle(w, { data, binary });
    else this.#opts.stats.unmatched += 1;
  }

  #onEvent(slot: Slot, link: Link, e: WsEvent): void {
    switch (e.type) {
      case 'message':
        this.#onMessage(link, e.data, e.binary);
        return;
      case 'error':
        // The close that follows says how the connection ended; that is what the messages report.
        return;
      case 'close': {
        if (slot.link === link) slot.link = undefined;
        if (!link.ours && !this.#closing) this.#opts.stats.closed(e.code);
        const err = new ClosedError(e.code, e.reason, this.#call.target);
        const waiting = link.waiting;
        link.waiting = undefined;
        if (waiting) settle(waiting, undefined, err);
        for (const w of link.byId.values()) settle(w, undefined, err);
        link.byId.clear();
        return;
      }
      default:
        return;
    }
  }

  /** Drop a connection (a message timed out on it); the next message on the slot reconnects. */
  #drop(slot: Slot, link: Link): void {
    link.ours = true;
    if (slot.link === link) slot.link = undefined;
    link.conn.terminate();
  }

  classify(outcome: Outcome<WsMessageReply>): Verdict {
    if (!outcome.error) return REPLIED;
    const { error } = outcome;
    if (error instanceof ClosedError)
      return { ok: false, retryable: false, peerFault: true, status: error.closeCode, error };
    // A handshake that failed sent nothing: safe to retry. A message sent and not answered is not.
    const beforeSend = error.kind === 'connect' || error.code === 'COMMS_ERR_WS_UPGRADE_REFUSED';
    return {
      ok: false,
      retryable: beforeSend && error.kind === 'connect',
      peerFault: error.kind === 'connect' || error.kind === 'timeout',
      ...(error.kind === 'timeout' ? { status: 'timeout' } : {}),
      error,
    };
  }

  describe(reply: WsMessageReply): ResultFields {
    return reply.binary
      ? { data: reply.data.toString('base64'), encoding: 'base64', size: reply.data.length }
      : { data: reply.data.toString('utf8'), size: reply.data.length };
  }

  /** End of the run: close every connection cleanly (bounded), then drop what is left. */
  async close(): Promise<void> {
    this.#closing = true;
    const closing: Promise<void>[] = [];
    for (const slot of this.#slots) {
      const link = slot.link;
      if (!link || link.conn.closed) continue;
      const conn = link.conn;
      link.ours = true;
      closing.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            conn.terminate();
            resolve();
          }, CLOSE_WAIT_MS);
          conn.socket.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          try {
            conn.socket.close(1000);
          } catch {
            conn.terminate();
          }
        }),
      );
    }
    await Promise.all(closing);
    await this.#handshakes.close();
  }
}
