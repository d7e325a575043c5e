import { createServer, type Server } from 'node:http';
import type { Dispatcher } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectPool, type Lease, type PooledHandler } from '../../src/transports/http/direct-pool.js';
import { listen } from '../kit/listen.js';
import { startPipeliningPeer } from '../kit/pipelining-peer.js';

/* Load mode's connections (one undici Client each), driven the way HttpTransport.attemptInto does. */

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A node:http server on a random loopback port, counting the connections it accepts. */
async function startPeer(
  handler: Parameters<typeof createServer>[1],
): Promise<{ origin: string; sockets: () => number }> {
  let sockets = 0;
  server = createServer(handler);
  server.on('connection', () => {
    sockets += 1;
  });
  const port = await listen(server);
  return { origin: `http://127.0.0.1:${port}`, sockets: () => sockets };
}

/** A handler that gives its connection back before reporting, as DiscardHandler does. */
class Handler implements PooledHandler {
  lease: Lease | undefined = undefined;
  queuedIn: DirectPool | undefined = undefined;
  status = 0;
  constructor(readonly done: (status: number | Error) => void) {}
  onConnect(): void {}
  onHeaders(status: number): boolean {
    this.status = status;
    return true;
  }
  onData(): boolean {
    return true;
  }
  onComplete(): void {
    this.#giveBack(false);
    this.done(this.status);
  }
  onError(err: Error): void {
    this.#giveBack(true);
    this.done(err);
  }
  #giveBack(failed: boolean): void {
    const lease = this.lease;
    this.lease = undefined;
    lease?.pool.release(lease, failed);
  }
}

const GET = (origin: string): Dispatcher.DispatchOptions => ({
  origin,
  path: '/',
  method: 'GET',
  headers: null,
  // As HttpTransport dispatches under --pipelining (undici pipelines nothing behind a blocking request).
  blocking: false,
});

/**
 * A closed loop over `pool`, as the load runner drives it: `inFlight` requests started at once, each
 * next one from a report, `total` in all. Resolves with every outcome, and how many of the first
 * `inFlight` had to wait in the pool's queue.
 */
function closedLoop(
  pool: DirectPool,
  origin: string,
  total: number,
  inFlight: number,
): Promise<{ outcomes: (number | Error)[]; queuedAtStart: number }> {
  return new Promise((resolve) => {
    const outcomes: (number | Error)[] = [];
    let queuedAtStart = 0;
    let left = total;
    const next = (r?: number | Error): void => {
      if (r !== undefined) outcomes.push(r);
      if (outcomes.length === total) resolve({ outcomes, queuedAtStart });
      if (left <= 0) return;
      left -= 1;
      const handler = new Handler(next);
      pool.dispatch(GET(origin), handler);
      if (r === undefined && handler.queuedIn === pool) queuedAtStart += 1;
    };
    for (let i = 0; i < inFlight; i++) next();
  });
}

describe('DirectPool', () => {
  it('queues what exceeds its connections and serves every request, on no more sockets than its size', async () => {
    const peer = await startPeer((_req, res) => res.end('ok'));
    const pool = new DirectPool(peer.origin, 3, { pipelining: 1 });
    // 40 requests, 10 in flight at a time, each next one started from a report: 3 connections.
    const { outcomes: results } = await closedLoop(pool, peer.origin, 40, 10);
    expect(results).toEqual(Array(40).fill(200));
    expect(peer.sockets()).toBe(3);
    await pool.destroy();
  });

  it('with pipelining, carries up to N per connection and queues beyond what they carry', async () => {
    const peer = await startPipeliningPeer(2);
    try {
      const origin = new URL(peer.url).origin;
      // 2 connections x 4 requests each = 8 carried at once; 12 in flight, so 4 wait in the queue.
      const pool = new DirectPool(origin, 2, { pipelining: 4 });
      const { outcomes, queuedAtStart } = await closedLoop(pool, origin, 120, 12);
      expect(queuedAtStart).toBe(4);
      expect(outcomes).toEqual(Array(120).fill(200));
      expect(peer.requests()).toBe(120);
      expect(peer.connections()).toBe(2);
      // The peer had more than one request of a connection waiting for its answer, never more than 4.
      expect(peer.maxUnanswered()).toBeGreaterThan(1);
      expect(peer.maxUnanswered()).toBeLessThanOrEqual(4);
      await pool.destroy();
    } finally {
      await peer.stop();
    }
  });

  it('with pipelining, uses idle and new connections before queueing behind a request', async () => {
    const peer = await startPipeliningPeer(20);
    try {
      const origin = new URL(peer.url).origin;
      const pool = new DirectPool(origin, 5, { pipelining: 10 });
      const outcomes = await Promise.all(
        Array.from(
          { length: 6 },
          () => new Promise<number | Error>((resolve) => pool.dispatch(GET(origin), new Handler(resolve))),
        ),
      );
      expect(outcomes).toEqual(Array(6).fill(200));
      // Five connections for the first five; the sixth went behind one of them.
      expect(peer.connections()).toBe(5);
      expect(peer.maxUnanswered()).toBe(2);
      await pool.destroy();
    } finally {
      await peer.stop();
    }
  });

  it('with pipelining, a refused connection fails every request on it, and calls started from those failures fail alike', async () => {
    const peer = await startPeer((_req, res) => res.end('ok'));
    const { origin } = peer;
    await new Promise((resolve) => server?.close(resolve));
    // One connection, room for 4, 2 on it: it is listed as having room when undici fails them.
    const pool = new DirectPool(origin, 1, { pipelining: 4 });
    // Two at once, twenty more each started from a failure's report, as the load runner does.
    const { outcomes } = await closedLoop(pool, origin, 22, 2);
    expect(outcomes).toHaveLength(22);
    for (const o of outcomes) expect(o).toBeInstanceOf(Error);
    await pool.destroy();
  });

  it('a queue that never empties stays in order and loses nothing (1 connection, 4 in flight, 3,000 requests)', async () => {
    const peer = await startPeer((_req, res) => res.end('ok'));
    const pool = new DirectPool(peer.origin, 1, { pipelining: 1 });
    const { outcomes } = await closedLoop(pool, peer.origin, 3000, 4);
    expect(outcomes).toEqual(Array(3000).fill(200));
    expect(peer.sockets()).toBe(1);
    await pool.destroy();
  });

  it('a waiting request whose attempt is aborted leaves the queue and fails at once, and is never sent', async () => {
    let requests = 0;
    const peer = await startPeer(() => {
      requests += 1; // never answers: the first request holds the only connection
    });
    const pool = new DirectPool(peer.origin, 1, { pipelining: 1 });
    const first: (number | Error)[] = [];
    const second: (number | Error)[] = [];
    pool.dispatch(GET(peer.origin), new Handler((r) => first.push(r)));
    const waiting = new Handler((r) => second.push(r));
    pool.dispatch(GET(peer.origin), waiting);
    expect(waiting.queuedIn).toBe(pool);
    const reason = new Error('timed out after 200ms (--timeout)');
    pool.cancel(waiting, reason);
    expect(second).toEqual([reason]);
    expect(waiting.queuedIn).toBeUndefined();
    await pool.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(requests).toBeLessThanOrEqual(1);
  });

  it('a refused connection fails its request, and one started from that failure fails alike (undici is not tripped)', async () => {
    const peer = await startPeer((_req, res) => res.end('ok'));
    const { origin } = peer;
    await new Promise((resolve) => server?.close(resolve));
    const pool = new DirectPool(origin, 1, { pipelining: 1 });
    const first = await new Promise<number | Error>((resolve) =>
      pool.dispatch(GET(origin), new Handler(resolve)),
    );
    expect(first).toBeInstanceOf(Error);
    // Started from the failure's report: it must not land on the Client while undici empties it.
    const second = await new Promise<number | Error>((resolve) =>
      pool.dispatch(GET(origin), new Handler(resolve)),
    );
    expect(second).toBeInstanceOf(Error);
    await pool.destroy();
  });

  it('destroy fails the requests still waiting for a connection', async () => {
    const peer = await startPeer(() => {
      // never answers: the first request holds the only connection
    });
    const pool = new DirectPool(peer.origin, 1, { pipelining: 1 });
    const outcomes: (number | Error)[] = [];
    pool.dispatch(GET(peer.origin), new Handler((r) => outcomes.push(r)));
    pool.dispatch(GET(peer.origin), new Handler((r) => outcomes.push(r)));
    await new Promise((resolve) => setImmediate(resolve));
    await pool.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcomes).toHaveLength(2);
    for (const o of outcomes) expect(o).toBeInstanceOf(Error);
  });
});
