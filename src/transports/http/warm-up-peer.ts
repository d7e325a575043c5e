import { createRequire } from 'node:module';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

const requireCjs = createRequire(import.meta.url);

/**
 * The loopback peer HttpTransport.warmUp talks to before the clock starts: a TCP (or TLS) server
 * that answers every request head with one canned `200 ok`. Not node:http's server: the warm-up is
 * there to run the *client's* code once (net.connect, the socket read path, TLS, undici's parser),
 * and Node's HTTP server would spend most of a one-shot run's warm-up parsing the request and
 * building a ServerResponse on the other side (measured in bench/RESULTS.md).
 */
export interface WarmUpPeer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The head a typical server sends (node:http's, nginx's): `Date`, `Connection: keep-alive` and
 * `Keep-Alive` take their own branches in undici's header handling, which a bare reply would leave
 * cold for the measured call (measured: first byte ~1 ms later against node:http's server).
 */
const reply = () =>
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nDate: ${new Date().toUTCString()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nok`;

export async function startWarmUpPeer(tls?: { cert: string; key: string }): Promise<WarmUpPeer> {
  const sockets = new Set<Socket>();
  const onSocket = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      // One reply per complete request head: the warm-up sends GETs without a body.
      for (let end = head.indexOf('\r\n\r\n'); end !== -1; end = head.indexOf('\r\n\r\n')) {
        socket.write(reply());
        head = head.slice(end + 4);
      }
    });
  };
  const server = tls
    ? createTlsServer({ cert: tls.cert, key: tls.key }, onSocket)
    : createTcpServer(onSocket);
  return servePeer(server, sockets);
}

/** Listen on loopback; `close` ends the open connections (sockets or h2 sessions), then the server. */
async function servePeer(server: Server, open: ReadonlySet<{ destroy(): void }>): Promise<WarmUpPeer> {
  await listenOnLoopback(server);
  const { port } = server.address() as { port: number };
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const connection of open) connection.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * The peer of the h2 warm-up (an https call that offers h2): node:http2's server, as the client side
 * it warms (undici's h2 client, Node's http2 session and stream code) is what the call runs when its
 * server picks h2. node:http2 is required here, never at load: a plain http:// run does not pay for it.
 */
export async function startWarmUpH2Peer(tls: { cert: string; key: string }): Promise<WarmUpPeer> {
  const h2 = requireCjs('node:http2') as typeof import('node:http2');
  const sessions = new Set<import('node:http2').ServerHttp2Session>();
  const server = h2.createSecureServer({ cert: tls.cert, key: tls.key }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok');
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => {});
  });
  return servePeer(server, sessions);
}

type BareServer = Server & {
  _listen2?: (address: string, port: number, addressType: number, backlog: number) => void;
};

/**
 * `server.listen(0, '127.0.0.1')` first loads node:dns (to look the literal address up) and
 * node:cluster (to ask whether this is a cluster worker; cluster loads child_process and dgram):
 * ~6-10 ms of a one-shot run for a process that is never a worker. `_listen2` is the step listen()
 * ends in for a primary process; Node keeps the name for code that wraps it (lib/net.js says so).
 * Where it is missing, plain listen().
 */
function listenOnLoopback(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    const bare = server as BareServer;
    if (typeof bare._listen2 === 'function') bare._listen2('127.0.0.1', 0, 4, 511);
    else server.listen(0, '127.0.0.1');
  });
}
