import {
  createInbox,
  type Msg,
  type NatsConnection,
  NoRespondersError,
  RequestError,
  type Subscription,
} from '@nats-io/transport-node';
import { performance } from '../../core/clock.js';
import type { AttemptContext } from '../../core/transport.js';
import { abortReasonToError } from '../../errors/classify.js';
import type { OutgoingMessage } from './call.js';
import { natsError } from './errors.js';
import { toHeaders } from './headers.js';

/**
 * Request/reply over one wildcard inbox subscription, as nats.js' own request does (`_INBOX.x.*`, one
 * reply subject per request), for attempts whose deadline the pipeline already enforces.
 *
 * Why not `nc.request`: besides its per-request objects (a random token, two promises and a timer of
 * its own, a race, and a "cancelled" RequestError even for answered requests), nats.js keeps the
 * requests in flight in a `Map` that is rehashed every few dozen requests. V8 links each discarded
 * hash table to its successor, and once a full GC has moved the live table to the old generation,
 * that chain of dead tables keeps every later table, and the requests they held, alive through
 * young-generation collections: in a load run nearly everything a request allocated was promoted
 * and only freed by the next full GC (GC ~20% of the CPU, against ~5% for a loop that never had a
 * full GC). Here the requests in flight live in a fixed array indexed by sequence number.
 *
 * Same outcomes as `nc.request`: the reply; "no responders" (an empty 503 status reply) and
 * permission violations (on this inbox, or on publishing to the request's subject) as the same
 * nats.js errors (a RequestError whose cause is the error); "connection closed" when the connection
 * ends; the attempt's signal (its --timeout, --max-time or Ctrl-C) rejecting with its own reason.
 * There is no second timer: callers use this only when the attempt's signal carries the deadline.
 */
export class RequestMux {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #sub: Subscription;
  readonly #toReply: (msg: Msg) => unknown;
  #slots: (Pending | undefined)[] = new Array<Pending | undefined>(256).fill(undefined);
  #live = 0;
  #seq = 0;
  #dead = false;

  /** @throws what `nc.subscribe` throws (a closed or draining connection). */
  constructor(nc: NatsConnection, toReply: (msg: Msg) => unknown, inboxPrefix?: string) {
    this.#nc = nc;
    this.#toReply = toReply;
    this.#prefix = `${createInbox(inboxPrefix)}.`;
    this.#sub = nc.subscribe(`${this.#prefix}*`, {
      callback: (err, msg) => {
        if (err) this.#fail(err, undefined);
        else this.#onReply(msg);
      },
    });
    void this.#sub.closed.then(
      () => this.#fail(new RequestError('connection closed'), undefined),
      (err: unknown) => this.#fail(err, undefined),
    );
    void this.#watchPublishPermissions();
  }

  /** False once the subscription is gone (denied, closed): the transport makes a new mux. */
  get usable(): boolean {
    return !this.#dead;
  }

  /**
   * Send one request. Settles with `toReply(msg)`, or rejects with a CommsError (natsError).
   * `ctx.onAbort` must be set (the pooled per-attempt deadline).
   */
  request<R>(m: OutgoingMessage, target: string, ctx: AttemptContext): Promise<R> {
    const p = new Pending(this, target, m.subject, ctx);
    const promise = new Promise<R>((resolve, reject) => {
      p.resolve = resolve as (v: unknown) => void;
      p.reject = reject;
    });
    this.#insert(p);
    try {
      this.#nc.publish(
        m.subject,
        m.data,
        m.headers
          ? { reply: `${this.#prefix}${p.seq}`, headers: toHeaders(m.headers) }
          : { reply: `${this.#prefix}${p.seq}` },
      );
    } catch (err) {
      // As nc.request: what publish throws (closed, draining, max_payload) rejects the request as is.
      this.#remove(p);
      p.reject(natsError(err, target, ctx.signal));
      return promise;
    }
    ctx.onAbort?.(p);
    return promise;
  }

  /** The request left the table (aborted): forget it. */
  remove(p: Pending): void {
    this.#remove(p);
  }

  #insert(p: Pending): void {
    for (;;) {
      const seq = ++this.#seq;
      const slots = this.#slots;
      const i = seq % slots.length;
      if (slots[i] === undefined) {
        p.seq = seq;
        slots[i] = p;
        this.#live += 1;
        return;
      }
      if (this.#live * 2 >= slots.length) this.#grow();
    }
  }

  #grow(): void {
    let size = this.#slots.length * 2;
    for (;;) {
      const next = new Array<Pending | undefined>(size).fill(undefined);
      let clash = false;
      for (const p of this.#slots) {
        if (p === undefined) continue;
        const i = p.seq % size;
        if (next[i] !== undefined) {
          clash = true;
          break;
        }
        next[i] = p;
      }
      if (!clash) {
        this.#slots = next;
        return;
      }
      size *= 2;
    }
  }

  #remove(p: Pending): boolean {
    const slots = this.#slots;
    const i = p.seq % slots.length;
    if (slots[i] !== p) return false;
    slots[i] = undefined;
    this.#live -= 1;
    return true;
  }

  #onReply(msg: Msg): void {
    const subject = msg.subject;
    const prefix = this.#prefix;
    if (subject.length <= prefix.length || !subject.startsWith(prefix)) return;
    let seq = 0;
    for (let i = prefix.length; i < subject.length; i++) {
      const d = subject.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return;
      seq = seq * 10 + d;
    }
    const p = this.#slots[seq % this.#slots.length];
    if (p === undefined || p.seq !== seq) return; // late: that request ended (timed out) already
    this.#remove(p);
    const ctx = p.ctx;
    ctx.onAbort?.(undefined);
    // nats.js' check: a "no responders" status is an empty 503 reply.
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      const nr = new NoRespondersError(p.subject);
      p.reject(natsError(new RequestError(nr.message, { cause: nr }), p.target, ctx.signal));
      return;
    }
    ctx.timing.set('firstByte', performance.now() - ctx.timing.start);
    p.resolve(this.#toReply(msg));
  }

  /** Reject requests in flight: all of them, or (a publish permission error) the first to `subject`. */
  #fail(err: unknown, subject: string | undefined): void {
    if (subject === undefined) this.#dead = true;
    const e = err as Error;
    for (const p of this.#slots) {
      if (p === undefined || (subject !== undefined && p.subject !== subject)) continue;
      this.#remove(p);
      p.ctx.onAbort?.(undefined);
      p.reject(
        natsError(new RequestError(e?.message ?? String(err), { cause: err }), p.target, p.ctx.signal),
      );
      if (subject !== undefined) return;
    }
  }

  /** A denied publish to a request's subject fails that request at once (nats.js does the same). */
  async #watchPublishPermissions(): Promise<void> {
    try {
      for await (const s of this.#nc.status()) {
        if (this.#dead) return;
        if (s.type !== 'error') continue;
        const e = s.error as { name?: string; operation?: string; subject?: string };
        if (e?.name === 'PermissionViolationError' && e.operation === 'publish' && e.subject !== undefined)
          this.#fail(s.error, e.subject);
      }
    } catch {
      // The status iterator ends with the connection: nothing left to watch.
    }
  }
}

/** One request in flight; also its attempt's abort listener (no closure, no EventTarget listener). */
class Pending {
  seq = 0;
  resolve: (value: unknown) => void = noop;
  reject: (err: unknown) => void = noop;
  readonly #mux: RequestMux;
  readonly target: string;
  readonly subject: string;
  readonly ctx: AttemptContext;

  constructor(mux: RequestMux, target: string, subject: string, ctx: AttemptContext) {
    this.#mux = mux;
    this.target = target;
    this.subject = subject;
    this.ctx = ctx;
  }

  handleEvent(): void {
    this.#mux.remove(this);
    this.reject(abortReasonToError(this.ctx.signal.reason));
  }
}

function noop(): void {}
