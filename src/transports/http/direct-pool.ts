import type { Client, Dispatcher } from 'undici';
import ClientClass from 'undici/lib/dispatcher/client.js';

/** What a DirectPool's request handler must do when its request ends: give its connection back. */
export interface PooledHandler extends Dispatcher.DispatchHandler {
  /** Set by the pool before dispatch: call `pool.release(lease)` once, when the request ended. */
  lease: Lease | undefined;
  /**
   * Set by the pool while the request waits for a connection (no undici abort exists yet): an
   * attempt aborted then (timeout, Ctrl-C) calls `pool.cancel(handler, reason)`.
   */
  queuedIn: DirectPool | undefined;
}

/** One connection, lent to one request at a time (or up to --pipelining of them). */
export interface Lease {
  readonly pool: DirectPool;
  readonly client: Client;
  /** Requests of ours on this connection now (at most the pool's per-connection share). */
  inFlight: number;
  /**
   * Failed requests whose place is given back a microtask later (see release). While above 0 the
   * connection takes no request: undici is still failing the ones it holds.
   */
  failing: number;
  /** Where it is listed: IDLE (no request), PARTLY (some, with room), or NOWHERE (full or failing). */
  list: ListId;
  /** Its index in that list. */
  at: number;
}

const NOWHERE = 0;
const IDLE = 1;
const PARTLY = 2;
type ListId = typeof NOWHERE | typeof IDLE | typeof PARTLY;

interface Waiting {
  opts: Dispatcher.DispatchOptions;
  handler: PooledHandler;
}

/**
 * Load mode's connections to one origin: one undici `Client` per connection, each carrying one
 * request of ours at a time, handed out from a stack of idle ones. undici's Agent -> Pool path looks
 * for a free Client per request, and a request finishing hands the next one over only when undici's
 * 'drain' events have travelled back up through the Pool and the Agent: per request, a scan of the
 * clients, a queue in the Pool and two event emissions, which a closed loop (every next request
 * starts from the last one's completion, when its Client still counts it as running) always paid.
 * Measured against a bare loop of undici Clients, that path was ~5% of a load run's CPU.
 *
 * Requests to another origin (a templated URL), HTTP/2 and proxies stay on the Agent, and so do
 * runs with retries, a breaker or --max-time: the pipeline's resilient path calls `attempt`, which
 * uses the Agent (a run uses one path or the other throughout, so never both sets of connections).
 *
 * With `perConnection` above 1 (--pipelining, as autocannon's -p) a connection carries up to that
 * many requests at once, and undici writes each one without waiting for the answers before it. A
 * request goes to an idle connection first, then to a new one (up to `size`), and only then behind
 * requests already on a connection: pipelining adds head-of-line waits only when every connection
 * is busy.
 */
export class DirectPool {
  readonly origin: string;
  readonly #size: number;
  /** Requests one connection may carry at once (1, or --pipelining). */
  readonly #perConnection: number;
  readonly #options: Client.Options;
  readonly #clients: Client[] = [];
  /** Connections with no request of ours (a stack: the warmest first). */
  readonly #idle: Lease[] = [];
  /** --pipelining: connections carrying some requests, with room for more. */
  readonly #partly: Lease[] = [];
  /** Requests waiting for a connection, when more are in flight than connections can carry. */
  readonly #waiting: Waiting[] = [];
  #head = 0;
  #closed = false;

  constructor(origin: string, size: number, options: Client.Options) {
    this.origin = origin;
    this.#size = Math.max(1, size);
    this.#perConnection = Math.max(1, options.pipelining ?? 1);
    this.#options = options;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: PooledHandler): void {
    if (this.#closed) {
      handler.onError?.(new Error('the HTTP connections were closed'));
      return;
    }
    let lease = this.#idle.pop();
    if (lease === undefined) {
      if (this.#clients.length < this.#size) {
        const client = new ClientClass(this.origin, this.#options);
        this.#clients.push(client);
        lease = { pool: this, client, inFlight: 0, failing: 0, list: NOWHERE, at: -1 };
      } else {
        lease = this.#partly[this.#partly.length - 1];
        if (lease === undefined) {
          handler.queuedIn = this;
          this.#waiting.push({ opts, handler });
          return;
        }
      }
    } else lease.list = NOWHERE;
    this.#lend(lease, opts, handler);
  }

  /** One more request on `lease`, which has room and is not failing. */
  #lend(lease: Lease, opts: Dispatcher.DispatchOptions, handler: PooledHandler): void {
    lease.inFlight += 1;
    this.#place(lease);
    handler.lease = lease;
    // A closed pool's Client fails the request through the handler's onError, as undici does.
    lease.client.dispatch(opts, handler);
  }

  /**
   * A request on `lease` ended (completed or failed): its place goes to the next waiting request,
   * or the connection is listed as having room. After a failure the place is given back a
   * microtask later, and the connection takes nothing meanwhile: undici fails a Client's requests
   * in a loop that must find the Client empty when it ends, and a call started from this request's
   * report must not land on it.
   */
  release(lease: Lease, failed = false): void {
    if (failed) {
      lease.failing += 1;
      this.#place(lease);
      queueMicrotask(() => {
        lease.failing -= 1;
        this.#free(lease);
      });
      return;
    }
    this.#free(lease);
  }

  /** One place on `lease` is free: waiting requests take its places while it has room. */
  #free(lease: Lease): void {
    lease.inFlight -= 1;
    if (lease.failing === 0 && !this.#closed) {
      for (let next = this.#nextWaiting(); next !== undefined; next = this.#nextWaiting()) {
        next.handler.queuedIn = undefined;
        this.#lend(lease, next.opts, next.handler);
        if (lease.inFlight >= this.#perConnection || lease.failing > 0) return;
      }
    }
    this.#place(lease);
  }

  /** The first waiting request, taken off the queue; undefined when none waits. */
  #nextWaiting(): Waiting | undefined {
    const next = this.#waiting[this.#head];
    if (next === undefined) return undefined;
    this.#waiting[this.#head] = undefined as unknown as Waiting;
    this.#head += 1;
    // A queue that never empties (more in flight than connections, all run long) must not grow:
    // drop the taken entries once they are half of it.
    if (this.#head === this.#waiting.length) {
      this.#waiting.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiting.length) {
      this.#waiting.splice(0, this.#head);
      this.#head = 0;
    }
    return next;
  }

  /** List `lease` where its state says: idle, partly used with room, or nowhere (full, failing). */
  #place(lease: Lease): void {
    const want =
      lease.failing > 0 || lease.inFlight >= this.#perConnection
        ? NOWHERE
        : lease.inFlight === 0
          ? IDLE
          : PARTLY;
    if (lease.list === want) return;
    if (lease.list !== NOWHERE) {
      // Swap-remove from its list (the idle stack's top when it was just popped is handled by dispatch).
      const list = lease.list === IDLE ? this.#idle : this.#partly;
      const last = list.pop() as Lease;
      if (last !== lease) {
        list[lease.at] = last;
        last.at = lease.at;
      }
    }
    lease.list = want;
    if (want !== NOWHERE) {
      const list = want === IDLE ? this.#idle : this.#partly;
      lease.at = list.push(lease) - 1;
    }
  }

  /** A waiting request's attempt was aborted: it leaves the queue and fails with `reason` now. */
  cancel(handler: PooledHandler, reason: Error): void {
    handler.queuedIn = undefined;
    const i = this.#waiting.findIndex((w, at) => at >= this.#head && w?.handler === handler);
    if (i < 0) return;
    this.#waiting.splice(i, 1);
    handler.onError?.(reason);
  }

  /** End every connection (requests still in flight fail through their handlers). */
  async destroy(): Promise<void> {
    this.#closed = true;
    const waiting = this.#waiting.slice(this.#head);
    this.#waiting.length = 0;
    this.#head = 0;
    for (const w of waiting) {
      w.handler.queuedIn = undefined;
      w.handler.onError?.(new Error('the HTTP connections were closed'));
    }
    await Promise.all(this.#clients.map((c) => c.destroy().catch(() => {})));
  }
}
