import { randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { performance } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';

/** Fault injection applied to every request (the `serve http` global flags). */
export interface HttpFaults {
  /** Fraction of requests (0..1) answered with `failStatus` instead. */
  failRate?: number;
  failStatus?: number;
  /** Added latency, plus up to `jitterMs` of uniform random extra. */
  delayMs?: number;
  jitterMs?: number;
}

export interface HttpServerOptions extends HttpFaults {
  host?: string;
  port?: number;
  /** Called after each response, for the request log on stderr. */
  onRequest?(line: { method: string; path: string; status: number; ms: number }): void;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const HELP = {
  endpoints: {
    '/echo': 'method, path, query, headers and body back as JSON',
    '/status/:code': 'answer with that status',
    '/delay/:dur': 'answer after a delay (250ms, 2s)',
    '/flaky/:n?key=K':
      'fail with 503 + Retry-After the first n calls per key, then 200 (?retry_after=SECONDS, default 1)',
    '/bytes/:n': 'stream n bytes (honours Range: bytes=S- and S-E)',
    '/drop': 'close the socket mid-response',
    '/redirect/:n': 'redirect n times, then to /echo',
    '/gzip': 'a gzip-encoded JSON body',
    '/json': 'a sample JSON document',
    '/health': 'ok',
    '/sse?count=&every=&retry=&drop=&event=':
      'an event stream: id 1..count (default 10) every interval (default 1s), resuming after Last-Event-ID; drop=N cuts it after N events',
  },
};

/**
 * The fault-injecting HTTP server behind `comms-cli serve http`, the demo and the tests. Endpoints
 * produce exactly the failure asked for, so retries, timeouts and the breaker can be watched.
 */
export async function startHttpServer(options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const flakyCounts = new Map<string, number>();
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const started = performance.now();
    res.on('finish', () => {
      options.onRequest?.({
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.statusCode,
        ms: performance.now() - started,
      });
    });
    handle(req, res, options, flakyCounts).catch((err: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: err.message });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  faults: HttpFaults,
  flaky: Map<string, number>,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  const body = await readBody(req);
  const delay = (faults.delayMs ?? 0) + (faults.jitterMs ? Math.random() * faults.jitterMs : 0);
  if (delay > 0) await sleepUnlessClosed(delay, res);
  if (faults.failRate && Math.random() < faults.failRate) {
    const status = faults.failStatus ?? 503;
    res.setHeader('Retry-After', '0');
    sendJson(res, status, { error: 'injected failure', status });
    return;
  }
  const [, first, arg] = url.pathname.split('/');
  switch (first) {
    case '':
    case 'help':
      return sendJson(res, 200, HELP);
    case 'health':
      return sendJson(res, 200, { status: 'ok' });
    case 'sse':
      return sendEvents(req, res, url);
    case 'echo':
      return sendJson(res, 200, {
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: body.toString('utf8'),
      });
    case 'status': {
      const code = Number(arg);
      if (!Number.isInteger(code) || code < 100 || code > 599)
        return sendJson(res, 400, { error: `bad status '${arg}'` });
      if (code === 204 || code === 304 || req.method === 'HEAD') {
        res.writeHead(code).end();
        return;
      }
      return sendJson(res, code, { status: code });
    }
    case 'delay': {
      let ms: number;
      try {
        ms = parseDuration(arg ?? '', 'delay');
      } catch {
        return sendJson(res, 400, { error: `bad duration '${arg}'` });
      }
      await sleepUnlessClosed(ms, res);
      return sendJson(res, 200, { delayedMs: ms });
    }
    case 'flaky': {
      const n = Number(arg ?? 1);
      const key = url.searchParams.get('key') ?? 'default';
      const seen = (flaky.get(key) ?? 0) + 1;
      flaky.set(key, seen);
      if (seen <= n) {
        res.setHeader('Retry-After', url.searchParams.get('retry_after') ?? '1');
        return sendJson(res, 503, { error: 'flaky: failing on purpose', call: seen, failUntil: n, key });
      }
      return sendJson(res, 200, { ok: true, call: seen, key });
    }
    case 'bytes': {
      const n = Number(arg);
      if (!Number.isInteger(n) || n < 0) return sendJson(res, 400, { error: `bad byte count '${arg}'` });
      // A single `Range: bytes=S-` or `bytes=S-E` is honoured (206, or 416 past the end), so
      // `http -C -` has a peer to resume against; other range forms get the whole body.
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? '').trim());
      let left = n;
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), n - 1) : n - 1;
        if (start >= n || end < start) {
          res.writeHead(416, { 'content-range': `bytes */${n}` }).end();
          return;
        }
        left = end - start + 1;
        res.writeHead(206, {
          'content-type': 'application/octet-stream',
          'content-length': String(left),
          'content-range': `bytes ${start}-${end}/${n}`,
        });
      } else
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(n),
          'accept-ranges': 'bytes',
        });
      const chunk = Buffer.alloc(64 * 1024, 'x');
      while (left > 0) {
        const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= part.length;
        if (!res.write(part)) await new Promise((r) => res.once('drain', r));
      }
      res.end();
      return;
    }
    case 'drop': {
      // Promise a body, send part of it, then cut the connection.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
      res.write('partial body...');
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    case 'redirect': {
      const n = Number(arg ?? 1);
      res.writeHead(302, { location: n > 1 ? `/redirect/${n - 1}` : '/echo' }).end();
      return;
    }
    case 'gzip': {
      const payload = gzipSync(JSON.stringify({ compressed: true, items: [1, 2, 3] }));
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': payload.length,
      });
      res.end(payload);
      return;
    }
    case 'json':
      return sendJson(res, 200, {
        id: randomInt(1000),
        name: 'sample',
        items: [
          { id: 42, sku: 'A1' },
          { id: 43, sku: 'B2' },
        ],
      });
    default:
      return sendJson(res, 404, { error: `no such endpoint '${url.pathname}'`, see: '/' });
  }
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Sleep, but give up early if the client went away (a timed-out client must not pin the server). */
function sleepUnlessClosed(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    }
    res.once('close', done);
  });
}

/**
 * `/sse`: Server-Sent Events with `id:` 1..count, resuming after the request's Last-Event-ID (204 when
 * nothing is left, which tells an EventSource to stop); `retry=` sends a `retry:` field first,
 * `drop=N` cuts the connection after N events of this response (to exercise reconnects).
 */
async function sendEvents(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const q = url.searchParams;
  const whole = (name: string, fallback: number): number | undefined => {
    const v = q.get(name);
    if (v === null) return fallback;
    return /^\d+$/.test(v) ? Number(v) : undefined;
  };
  const count = whole('count', 10);
  const drop = whole('drop', Number.POSITIVE_INFINITY);
  const retry = q.get('retry');
  let every: number;
  try {
    every = parseDuration(q.get('every') ?? '1s', 'every');
  } catch {
    return sendJson(res, 400, { error: `bad every '${q.get('every')}'` });
  }
  if (count === undefined || drop === undefined || (retry !== null && !/^\d+$/.test(retry)))
    return sendJson(res, 400, { error: 'count, drop and retry are whole numbers' });
  const last = Number(req.headers['last-event-id'] ?? 0);
  const from = Number.isInteger(last) && last > 0 ? last : 0;
  if (from >= count) {
    res.writeHead(204).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.flushHeaders();
  if (retry !== null) res.write(`retry: ${retry}\n\n`);
  const event = q.get('event');
  let sent = 0;
  for (let id = from + 1; id <= count; id++) {
    if (id > from + 1 || every > 0) await sleepUnlessClosed(every, res);
    if (res.destroyed || res.writableEnded) return;
    const data = JSON.stringify({ n: id, time: new Date().toISOString() });
    res.write(`id: ${id}\n${event ? `event: ${event}\n` : ''}data: ${data}\n\n`);
    sent += 1;
    if (sent >= drop && id < count) {
      setTimeout(() => res.socket?.destroy(), 10);
      return;
    }
  }
  res.end();
}
