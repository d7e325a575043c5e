import type { IncomingMessage } from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import WebSocket from 'ws';
import { performance } from '../../core/clock.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { ExpectationError, ResponseError } from '../../errors/comms-error.js';
import type { WsCall, WsHandshake } from './call.js';
import { RETRYABLE_STATUSES } from './classify.js';
import { WsConnection } from './connection.js';
import { wsError } from './errors.js';
import { openTunnel } from './proxy.js';

/** The most of a refusal's body kept for the result (a 401 page, a JSON error). */
const MAX_REFUSAL_BODY = 4096;

/**
 * The WebSocket adapter over `ws` (undici's WebSocket can send custom headers but reports a refused
 * upgrade without its status, and has no ping): `attempt` is one opening handshake. It resolves with
 * the open connection (101) or with the HTTP answer that refused the upgrade, and measures dns,
 * connect, tls and the time to the 101 (`upgrade`). The session (sends, receives, close) runs on the
 * connection afterwards, outside the pipeline.
 */
export class WsTransport implements Transport<WsCall, WsHandshake> {
  readonly kind = 'ws' as const;
  /** Connections handed out and not yet closed: closed with the transport (Ctrl-C, errors). */
  readonly #open = new Set<WsConnection>();

  attempt(call: WsCall, ctx: AttemptContext): Promise<WsHandshake> {
    const { timing } = ctx;
    return new Promise<WsHandshake>((resolve, reject) => {
      if (ctx.signal.aborted) {
        reject(ctx.signal.reason);
        return;
      }
      let settled = false;
      /** Socket timing from the socket's own events (to the proxy when there is one). */
      const measure = (socket: Socket, start: number) => {
        let tcpStart = start;
        socket.once('lookup', () => {
          tcpStart = performance.now();
          timing.set('dns', tcpStart - start);
        });
        socket.once('connect', () => {
          const now = performance.now();
          timing.set('connect', now - tcpStart);
          socket.once('secureConnect', () => timing.set('tls', performance.now() - now));
        });
      };
      const servernameOf = (host: string | undefined) =>
        call.tls.servername ?? (isIP(host ?? '') ? undefined : host);
      const direct = (opts: ConnectionOptions & { host?: string }): Socket => {
        const start = performance.now();
        let socket: Socket;
        if (call.url.protocol === 'wss:') {
          const servername = servernameOf(opts.host);
          socket = tlsConnect({ ...opts, ...(servername ? { servername } : {}) });
        } else socket = netConnect(opts as Parameters<typeof netConnect>[0]);
        measure(socket, start);
        return socket;
      };
      // Through a CONNECT proxy: `ws` hands the request a socket delivered later (callback form).
      const proxy = call.proxy;
      const tunnelled = proxy
        ? (opts: ConnectionOptions & { host?: string }, done: (err: Error | null, s?: Socket) => void) => {
            const start = performance.now();
            const host = call.url.hostname.replace(/^\[|\]$/g, '');
            const port = Number(call.url.port || (call.url.protocol === 'wss:' ? 443 : 80));
            openTunnel({ proxy, host, port, signal: ctx.signal, onSocket: (s) => measure(s, start) }).then(
              (raw) => {
                if (call.url.protocol !== 'wss:') return done(null, raw);
                const servername = servernameOf(host);
                const secure = tlsConnect({ ...opts, socket: raw, ...(servername ? { servername } : {}) });
                const tlsStart = performance.now();
                secure.once('secureConnect', () => timing.set('tls', performance.now() - tlsStart));
                done(null, secure);
              },
              (err: unknown) => done(err as Error),
            );
            return undefined;
          }
        : undefined;
      const socket = new WebSocket(call.url, [...call.protocols], {
        headers: { ...call.headers },
        ...(call.origin !== undefined ? { origin: call.origin } : {}),
        ...(call.tls.ca ? { ca: call.tls.ca } : {}),
        ...(call.tls.cert ? { cert: call.tls.cert } : {}),
        ...(call.tls.key ? { key: call.tls.key } : {}),
        rejectUnauthorized: !call.tls.insecure,
        createConnection: (tunnelled ?? direct) as never,
        perMessageDeflate: false,
        // Frames larger than this are a protocol error (1009); 100 MiB is plenty for a tester.
        maxPayload: 100 * 1024 * 1024,
      });
      const onAbort = () => {
        if (settled) return;
        settled = true;
        socket.terminate();
        reject(ctx.signal.reason);
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        ctx.signal.removeEventListener('abort', onAbort);
        fn();
      };
      let upgradeHeaders: IncomingMessage['headers'] = {};
      socket.once('upgrade', (res: IncomingMessage) => {
        timing.markSinceStart('upgrade');
        upgradeHeaders = res.headers;
      });
      socket.once('unexpected-response', (req, res: IncomingMessage) => {
        timing.markSinceStart('upgrade');
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_REFUSAL_BODY) chunks.push(c);
          size += c.length;
        });
        const done = () =>
          finish(() => {
            req.destroy();
            const body = Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BODY).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              headers: res.headers as Record<string, string | string[]>,
              ...(body ? { body } : {}),
            });
          });
        res.once('end', done);
        res.once('error', done);
        res.once('aborted', done);
      });
      socket.once('error', (err: Error) => finish(() => reject(wsError(err, call.target, ctx.signal))));
      socket.once('open', () =>
        finish(() => {
          const connection = new WsConnection(socket);
          this.#open.add(connection);
          socket.once('close', () => this.#open.delete(connection));
          resolve({
            status: 101,
            statusText: 'Switching Protocols',
            headers: upgradeHeaders as Record<string, string | string[]>,
            protocol: socket.protocol,
            connection,
            startedAt: timing.start,
          });
        }),
      );
    });
  }

  classify(outcome: Outcome<WsHandshake>, call: WsCall): Verdict {
    if (outcome.error) {
      const { error } = outcome;
      const transient = error.kind === 'connect' || error.kind === 'timeout';
      return { ok: false, retryable: transient, peerFault: transient, error };
    }
    const { reply } = outcome;
    const status = reply.status;
    if (status === 101) {
      if (call.protocols.length > 0 && !reply.protocol)
        return {
          ok: false,
          retryable: false,
          peerFault: false,
          status,
          error: new ExpectationError(
            `the server accepted none of the subprotocols offered (${call.protocols.join(', ')})`,
          ),
        };
      return { ok: true, retryable: false, peerFault: false, status };
    }
    const retryAfter = headerText(reply.headers['retry-after']);
    const retryAfterMs =
      retryAfter && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) * 1000 : undefined;
    return {
      ok: false,
      retryable: RETRYABLE_STATUSES.has(status),
      peerFault: status >= 500 || status === 429,
      status,
      error: new ResponseError(
        `the server refused the WebSocket upgrade: HTTP ${status}${reply.statusText ? ` ${reply.statusText}` : ''} (${call.target})`,
        {
          code: 'COMMS_ERR_WS_UPGRADE_REFUSED',
          ...(status === 401 || status === 403
            ? { hint: 'send credentials with -H "Authorization: ..." or -u user:password' }
            : {}),
        },
      ),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }

  describe(reply: WsHandshake): ResultFields {
    return {
      status: reply.status,
      statusText: reply.statusText,
      headers: reply.headers,
      ...(reply.protocol ? { protocol: reply.protocol } : {}),
      ...(reply.body !== undefined ? { body: reply.body } : {}),
    };
  }

  async close(): Promise<void> {
    for (const c of this.#open) c.terminate();
    this.#open.clear();
  }
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
