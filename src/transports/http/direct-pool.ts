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
}

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
 * connection is filled before another is opened, so N connections are N sockets whatever -c is.
 */
export class DirectPool {
  readonly origin: string;
  readonly #size: number;
  /** Requests one connection may carry at once (1, or --pipelining). */
  readonly #perConnection: number;
  readonly #options: Client.Options;
  readonly #clients: Client[] = [];
  /**
   * Connections with room for another request (a stack: the warmest first). A lease is in it exactly
   * while its `inFlight` is below `#perConnection`; with one request per connection, the idle ones.
   */
  readonly #open: Lease[] = [];
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
    const open = this.#open;
    let lease = open[open.length - 1];
    if (!lease && this.#clients.length < this.#size && !this.#closed) {
      const client = new ClientClass(this.origin, this.#options);
      this.#clients.push(client);
      lease = { pool: this, client, inFlight: 0 };
      open.push(lease);
    }
    if (!lease) {
      handler.queuedIn = this;
      this.#waiting.push({ opts, handler });
      return;
    }
    // The lease is the top of the stack: full now, it leaves it.
    if (++lease.inFlight === this.#perConnection) open.pop();
    handler.lease = lease;
    // A closed pool's Client fails the request through the handler's onError, as undici does.
    lease.client.dispatch(opts, handler);
  }

  /**
   * A request on `lease` ended (completed or failed): the next waiting request takes its place on
   * the connection. After a failure the place is given back a microtask later: undici fails a
   * Client's requests in a loop that must find the Client empty when it ends, and the call started
   * from this request's report must not land on it meanwhile.
   */
  release(lease: Lease, failed = false): void {
    if (failed) {
      queueMicrotask(() => this.release(lease));
      return;
    }
    const next = this.#waiting[this.#head];
    if (next === undefined) {
      // Full until now: it has room again.
      if (lease.inFlight-- === this.#perConnection) this.#open.push(lease);
      return;
    }
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
    next.handler.queuedIn = undefined;
    next.handler.lease = lease;
    lease.client.dispatch(next.opts, next.handler);
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
