import diagnosticsChannel from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { performance } from '../../core/clock.js';
import type { TimingRecorder } from '../../core/timing.js';

/** When a client socket was created, resolved its name and connected (performance.now()). */
interface SocketTimes {
  created: number;
  lookedUp?: number;
  connected?: number;
}

const socketTimes = new WeakMap<object, SocketTimes>();
let watching = false;

/**
 * Every client socket this process opens, timed from Node's own `net.client.socket` diagnostics
 * channel (published when `net.connect` creates the socket, before it connects). grpc-js opens its
 * TCP connections with `net.connect`, so `connect` is the socket's own connect, not the channel's
 * set-up around it.
 */
function watchSockets(): void {
  if (watching) return;
  watching = true;
  diagnosticsChannel.subscribe('net.client.socket', (message) => {
    const socket = (message as { socket?: Socket }).socket;
    if (!socket) return;
    const times: SocketTimes = { created: performance.now() };
    socketTimes.set(socket, times);
    socket.once('lookup', () => {
      times.lookedUp = performance.now();
    });
    socket.once('connect', () => {
      times.connected = performance.now();
    });
  });
}

/** The part of grpc-js' (internal) secure connector that the probe wraps. */
interface SecureConnector {
  connect(socket: Socket): Promise<{ socket: Socket; secure: boolean }>;
  connectionOptions?: { servername?: string };
}

const DATE_ERRORS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'is not valid yet',
};

/**
 * An expired (or not yet valid) server certificate: say when. Node's verification error carries no
 * certificate, so the dates are read from one more handshake that does not verify (bounded to 2 s),
 * made only on this failure. grpc-js keeps only the error's message, so the dates go into it.
 */
async function explainCertError(
  err: unknown,
  peer: { host: string | undefined; port: number | undefined },
  connector: SecureConnector,
): Promise<unknown> {
  const code = (err as { code?: string }).code ?? '';
  const what = DATE_ERRORS[code];
  const { host, port } = peer;
  if (!what || !host || !(err instanceof Error)) return err;
  const tls = await import('node:tls');
  const dates = await new Promise<{ validFrom: string; validTo: string } | undefined>((resolve) => {
    const servername = connector.connectionOptions?.servername;
    const probe = tls.connect({
      host,
      ...(port !== undefined ? { port } : {}),
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      ...(servername && !isIPAddress(servername) ? { servername } : {}),
    });
    const done = (value?: { validFrom: string; validTo: string }) => {
      clearTimeout(timer);
      probe.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(), 2000);
    probe.once('secureConnect', () => {
      const cert = probe.getPeerCertificate();
      done(cert?.valid_to ? { validFrom: cert.valid_from, validTo: cert.valid_to } : undefined);
    });
    probe.once('error', () => done());
  });
  if (!dates) return err;
  const when =
    code === 'CERT_HAS_EXPIRED'
      ? `the server certificate expired on ${isoDate(dates.validTo)}`
      : `the server certificate is not valid before ${isoDate(dates.validFrom)}`;
  const out = new Error(`${err.message}: ${when}`);
  Object.assign(out, { code });
  return out;
}

function isIPAddress(text: string): boolean {
  return /^[\d.]+$|:/.test(text);
}

function isoDate(text: string): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * Connection phases of a gRPC attempt from real events (issue 10): `dns` and `connect` from the TCP
 * socket grpc-js opened, `tls` from the handshake alone. The channel's credentials are instrumented:
 * grpc-js hands the freshly connected TCP socket to the credentials' connector, which (for TLS) does
 * the handshake; the probe times that step and reads the socket's times. An attempt that starts while
 * the channel is not READY waits for the next connection that began after it started; an attempt on
 * an open connection has no connect phase (as curl on a reused connection).
 */
export class ConnectProbe {
  readonly #waiting = new Set<TimingRecorder>();
  /** Sockets of this channel's connections, destroyed by `closeAll` (a stuck handshake included). */
  readonly #sockets = new Set<Socket>();

  /** Instrument `credentials` in place (best effort: a grpc-js without the hook just has no phases). */
  instrument(credentials: ChannelCredentials): ChannelCredentials {
    watchSockets();
    const target = credentials as unknown as {
      _createSecureConnector?: (...args: unknown[]) => SecureConnector;
    };
    const original = target._createSecureConnector;
    if (typeof original !== 'function') return credentials;
    const probe = this;
    target._createSecureConnector = function (this: unknown, ...args: unknown[]) {
      const connector = original.apply(this, args);
      const connect = connector.connect.bind(connector);
      connector.connect = async (socket: Socket) => {
        const tcp = socketTimes.get(socket);
        probe.#sockets.add(socket);
        socket.once('close', () => probe.#sockets.delete(socket));
        probe.#tcpDone(tcp);
        const tlsStart = performance.now();
        // Read before the handshake: a failed one destroys the socket and its address with it.
        const peer = { host: socket.remoteAddress, port: socket.remotePort };
        let result: Awaited<ReturnType<SecureConnector['connect']>>;
        try {
          result = await connect(socket);
        } catch (err) {
          throw await explainCertError(err, peer, connector);
        }
        probe.#secured(tcp, result.secure ? performance.now() - tlsStart : undefined);
        return result;
      };
      return connector;
    };
    return credentials;
  }

  /**
   * Destroy every socket the channel opened. grpc-js' close() lets a connection that is still in its
   * TLS handshake or waiting for the server's HTTP/2 settings live on, which would hold the process
   * after the verdict; the command is done with them.
   */
  closeAll(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  /** This attempt opens (or waits for) a connection: give it that connection's phases. */
  expect(timing: TimingRecorder): void {
    this.#waiting.add(timing);
  }

  forget(timing: TimingRecorder): void {
    this.#waiting.delete(timing);
  }

  #tcpDone(tcp: SocketTimes | undefined): void {
    if (!tcp || tcp.connected === undefined) return;
    for (const t of this.#waiting) {
      if (tcp.created < t.start) continue; // a connection that began before this attempt
      if (tcp.lookedUp !== undefined) {
        t.set('dns', tcp.lookedUp - tcp.created);
        t.set('connect', tcp.connected - tcp.lookedUp);
      } else t.set('connect', tcp.connected - tcp.created);
    }
  }

  #secured(tcp: SocketTimes | undefined, tlsMs: number | undefined): void {
    if (!tcp) return;
    for (const t of this.#waiting) {
      if (tcp.created < t.start) continue;
      if (tlsMs !== undefined) t.set('tls', tlsMs);
      this.#waiting.delete(t);
    }
  }
}
