import { createServer, type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { parseDuration } from '../../core/duration.js';

/** Faults for every connection (the `serve ws` flags); a connection's query string may override each. */
export interface WsFaults {
  /** Added latency before each echo/broadcast. */
  delayMs?: number;
  /** End the connection after this many messages (received on echo/broadcast, sent on ticker). */
  dropAfter?: number;
  /** Close with this code (after --drop-after messages, or at once without it) instead of dropping. */
  closeCode?: number;
  /** Refuse the upgrade with this HTTP status. */
  refuse?: number;
}

export interface WsServerOptions extends WsFaults {
  host?: string;
  port?: number;
  onEvent?(e: { event: 'open' | 'close' | 'refused'; path: string; code?: number; status?: number }): void;
}

export interface RunningWsServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export const WS_ENDPOINTS = {
  '/echo': 'every message back, text as text, binary as binary (also /)',
  '/broadcast': 'every message to every connection on /broadcast',
  '/ticker?every=100ms&count=N': 'a JSON tick {"tick":n,"time":...} every interval; closes 1000 after count',
  '?refuse=401': 'refuse the upgrade with this HTTP status (any path)',
  '?drop-after=N': 'end the connection after N messages (drop; with close-code: close)',
  '?close-code=1011': 'close with this code (at once, or after drop-after messages)',
  '?delay=50ms': 'delay every echo/broadcast',
};

/**
 * The WebSocket test server behind `comms-cli serve ws` and the tests: echo, broadcast, ticker, and
 * faults (delay, drop after N messages, a close code, a refused upgrade) globally or per connection.
 */
export async function startWsServer(options: WsServerOptions = {}): Promise<RunningWsServer> {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 100 * 1024 * 1024,
  });
  const sockets = new Set<Socket>();
  const broadcast = new Set<WebSocket>();
  const server = createServer((_req, res) => {
    const body = `${JSON.stringify({ error: 'this is a WebSocket server: connect with ws://', endpoints: WS_ENDPOINTS })}\n`;
    res.writeHead(426, { 'content-type': 'application/json', upgrade: 'websocket', connection: 'Upgrade' });
    res.end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://local');
    let faults: WsFaults;
    try {
      faults = faultsFrom(url, options);
    } catch (err) {
      refuse(socket, 400, (err as Error).message);
      return;
    }
    if (faults.refuse !== undefined) {
      options.onEvent?.({ event: 'refused', path: url.pathname, status: faults.refuse });
      refuse(socket, faults.refuse, `refused on purpose (${faults.refuse})`);
      return;
    }
    const route = url.pathname.replace(/\/+$/, '') || '/echo';
    if (!['/echo', '/broadcast', '/ticker'].includes(route)) {
      refuse(socket, 404, `no such endpoint '${url.pathname}'`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      options.onEvent?.({ event: 'open', path: url.pathname });
      ws.on('close', (code) => options.onEvent?.({ event: 'close', path: url.pathname, code }));
      ws.on('error', () => undefined);
      serveConnection(ws, route, url, faults, broadcast);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `ws://${host}:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function faultsFrom(url: URL, defaults: WsFaults): WsFaults {
  const q = url.searchParams;
  const int = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === null) return undefined;
    if (!/^\d+$/.test(v)) throw new Error(`bad ${name} '${v}'`);
    return Number(v);
  };
  const delay = q.get('delay');
  const faults: WsFaults = { ...defaults };
  if (delay !== null) faults.delayMs = parseDuration(delay, 'delay');
  const dropAfter = int('drop-after');
  if (dropAfter !== undefined) faults.dropAfter = dropAfter;
  const closeCode = int('close-code');
  if (closeCode !== undefined) faults.closeCode = closeCode;
  const refuse = int('refuse');
  if (refuse !== undefined) faults.refuse = refuse;
  return faults;
}

function refuse(socket: Socket, status: number, message: string): void {
  const body = `${JSON.stringify({ error: message, status })}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function serveConnection(
  ws: WebSocket,
  route: string,
  url: URL,
  faults: WsFaults,
  broadcast: Set<WebSocket>,
): void {
  let handled = 0;
  const end = () => {
    if (faults.closeCode !== undefined) ws.close(faults.closeCode, 'closed on purpose');
    else ws.terminate();
  };
  /** Count one message; end the connection when --drop-after is reached. */
  const counted = (): boolean => {
    handled += 1;
    if (faults.dropAfter !== undefined && handled >= faults.dropAfter) {
      end();
      return true;
    }
    return false;
  };
  if (faults.closeCode !== undefined && faults.dropAfter === undefined) {
    ws.close(faults.closeCode, 'closed on purpose');
    return;
  }
  if (faults.dropAfter === 0) {
    end();
    return;
  }
  if (route === '/ticker') {
    let every: number;
    try {
      every = parseDuration(url.searchParams.get('every') ?? '1s', 'every');
    } catch {
      ws.close(1008, 'bad every');
      return;
    }
    const count = Number(url.searchParams.get('count') ?? 'Infinity');
    let n = 0;
    const timer = setInterval(
      () => {
        if (ws.readyState !== WebSocket.OPEN) return;
        n += 1;
        ws.send(JSON.stringify({ tick: n, time: new Date().toISOString() }));
        if (counted()) {
          clearInterval(timer);
          return;
        }
        if (n >= count) {
          clearInterval(timer);
          ws.close(1000, 'done');
        }
      },
      Math.max(1, every),
    );
    ws.on('close', () => clearInterval(timer));
    return;
  }
  if (route === '/broadcast') {
    broadcast.add(ws);
    ws.on('close', () => broadcast.delete(ws));
  }
  ws.on('message', (data: RawData, isBinary: boolean) => {
    const reply = () => {
      if (route === '/broadcast') {
        for (const peer of broadcast)
          if (peer.readyState === WebSocket.OPEN) peer.send(data, { binary: isBinary });
      } else if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: isBinary });
      counted();
    };
    if (faults.delayMs) setTimeout(reply, faults.delayMs);
    else reply();
  });
}
