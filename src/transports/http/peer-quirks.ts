import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { errorCode } from '../../errors/classify.js';
import { type CommsError, ConnectError } from '../../errors/comms-error.js';

/*
 * Two things RFC 9110/9113 require of a client that undici 7 does not do, fixed at the edge we own
 * (the socket our connector hands undici, and the HTTP/2 session it builds on it):
 *   - HTTP/1.1: an interim 1xx response (100 Continue, 102, 103) the client did not ask for must be
 *     skipped (RFC 9110 §15.2); undici destroys the socket on it ("bad response").
 *   - HTTP/2: a GOAWAY with NO_ERROR lets streams up to its last-stream-id complete (RFC 9113 §6.8);
 *     undici fails the in-flight request at once.
 */

const requireCjs = createRequire(import.meta.url);
const STATUS_PREFIX = Buffer.from('HTTP/1.1 1');

/**
 * Whether `buf` starts with an interim status line (`HTTP/1.x 1dd` then a space or CR; 101 is
 * undici's own upgrade path, so it counts as final), or is too short to tell. Byte comparisons, not
 * a regexp: this runs between the first response bytes and undici's parser, inside the measured
 * first byte, and V8 compiles a regexp to native code on its second use, i.e. in the first real call
 * after a warm-up (measured: 0.1-0.6 ms there).
 */
function interimHead(buf: Buffer): 'interim' | 'final' | 'more' {
  const n = Math.min(buf.length, 13);
  for (let i = 0; i < n; i++) {
    const c = buf[i] as number;
    const ok =
      i === 7
        ? c === 0x30 || c === 0x31
        : i < 10
          ? c === STATUS_PREFIX[i]
          : i < 12
            ? c >= 0x30 && c <= 0x39
            : c === 0x20 || c === 0x0d;
    if (!ok) return 'final';
  }
  if (buf.length < 13) return 'more';
  return buf[10] === 0x30 && buf[11] === 0x31 ? 'final' : 'interim';
}
const HEAD_END = Buffer.from('\r\n\r\n');
/** An interim head longer than this is not one we will wait for. */
const MAX_INTERIM_HEAD = 64 * 1024;

/**
 * Skip interim (1xx, except 101) responses at the start of a connection's first HTTP/1.1 response,
 * before undici's parser sees them. undici reads the socket with `socket.read()`; the wrapper stays
 * only until the first bytes of a final response went through, then the socket's own `read` is back
 * (measured: a wrapper left in place cost the first response a few ms of firstByte). A 1xx on a
 * reused keep-alive connection is not covered (one-shot calls and -L on a new origin are).
 */
export function skipInterimResponses(socket: Socket): void {
  const ownRead = socket.read;
  const read = ownRead.bind(socket);
  let held: Buffer | undefined;
  const done = (buf: Buffer | null): Buffer | null => {
    // Back to the stream's own read: nothing of ours stays on the hot path. Assigned, not deleted:
    // deleting a property turns the socket into a dictionary-mode object, and undici reads its
    // symbol-keyed state on every event.
    (socket as { read: unknown }).read = ownRead;
    return buf;
  };
  (socket as { read: unknown }).read = (size?: number): unknown => {
    if (size !== undefined) return read(size);
    for (;;) {
      const chunk = read() as Buffer | string | null;
      if (chunk === null) return null;
      let buf = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
      if (held) {
        buf = Buffer.concat([held, buf]);
        held = undefined;
      }
      for (;;) {
        if (buf.length === 0) break;
        const head = interimHead(buf);
        if (head === 'more') {
          held = buf;
          break;
        }
        if (head === 'final') return done(buf);
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_INTERIM_HEAD) return done(buf);
          held = buf;
          break;
        }
        buf = buf.subarray(end + HEAD_END.length);
      }
    }
  };
}

/**
 * HTTP/1.1: a complete Content-Length body followed by the server's FIN (no `Connection: close`) is
 * a success, however slowly the body is read. undici pauses its parser when the reader is slow; if
 * the socket's 'end' arrives while it is paused right after the last body bytes (before it marked the
 * message complete), undici reports "other side closed" and the whole body is lost (issue 17). So
 * 'end' is held back until the parser has resumed (the reader caught up), then delivered as usual.
 */
export function holdEndWhileParserPaused(socket: Socket): void {
  const emit = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  (socket as { emit: unknown }).emit = (event: string | symbol, ...args: unknown[]): boolean => {
    if (event !== 'end') return emit(event, ...args);
    const parser = parserOf(socket);
    if (!parser?.paused) return emit(event, ...args);
    const wait = () => {
      if (socket.destroyed) return;
      if (parserOf(socket)?.paused) setTimeout(wait, 5);
      else emit(event, ...args);
    };
    setTimeout(wait, 5);
    return true;
  };
}

/** undici's HTTP/1 parser on a socket (its `kParser` symbol), if any. */
function parserOf(socket: Socket): { paused?: boolean } | undefined {
  const key = Object.getOwnPropertySymbols(socket).find((k) => k.description === 'parser');
  return key
    ? ((socket as unknown as Record<symbol, { paused?: boolean } | null>)[key] ?? undefined)
    : undefined;
}

interface Http2SessionLike {
  request(...args: unknown[]): { once(event: 'close', fn: () => void): unknown };
  emit(event: string | symbol, ...args: unknown[]): boolean;
}

let goawayPatched = false;

/** Let a graceful GOAWAY (NO_ERROR) reach undici only once the streams in flight have finished. */
export function letGracefulGoawayFinish(): void {
  if (goawayPatched) return;
  goawayPatched = true;
  const h2 = requireCjs('node:http2') as { connect: (...args: unknown[]) => Http2SessionLike };
  const connect = h2.connect;
  h2.connect = (...args: unknown[]) => {
    const session = connect(...args);
    deferGracefulGoaway(session);
    return session;
  };
}

function deferGracefulGoaway(session: Http2SessionLike): void {
  let open = 0;
  let deferred: (() => void) | undefined;
  const request = session.request.bind(session);
  session.request = (...args: unknown[]) => {
    const stream = request(...args);
    open += 1;
    stream.once('close', () => {
      open -= 1;
      if (open === 0 && deferred) {
        const emitNow = deferred;
        deferred = undefined;
        setImmediate(emitNow);
      }
    });
    return stream;
  };
  const emit = session.emit.bind(session);
  session.emit = (event: string | symbol, ...args: unknown[]) => {
    // NO_ERROR: the server is shutting down gracefully; streams it already accepted still complete.
    if (event === 'goaway' && args[0] === 0 && open > 0) {
      deferred = () => emit(event, ...args);
      return true;
    }
    return emit(event, ...args);
  };
}

/** What a handshake saw that the error alone does not say. */
export interface TlsObservation {
  /** The peer's certificate (captured before verification could reject it). */
  cert?: { validFrom: string; validTo: string; altNames?: string };
  /** A TLS alert the peer sent after the handshake (TLS 1.3 client-certificate checks). */
  alert?: Error;
}

/** Watch a TLS socket for what explainTlsError needs. */
export function observeTls(socket: TLSSocket, seen: TlsObservation): void {
  if (typeof socket.getPeerCertificate !== 'function') return;
  socket.prependOnceListener('secure', () => {
    try {
      const c = socket.getPeerCertificate();
      if (c?.valid_to)
        seen.cert = {
          validFrom: c.valid_from,
          validTo: c.valid_to,
          ...(c.subjectaltname ? { altNames: c.subjectaltname } : {}),
        };
    } catch {
      // no certificate to show
    }
  });
  socket.on('error', (err: Error) => {
    if ((errorCode(err) ?? '').startsWith('ERR_SSL_')) seen.alert = err;
  });
}

function isoDate(text: string): string {
  const t = Date.parse(text);
  return Number.isNaN(t) ? text : new Date(t).toISOString();
}

/**
 * A TLS failure explained with what we know (the certificate's dates and names, --servername,
 * whether a client certificate was given), or undefined to leave the generic explanation.
 */
export function explainTlsError(
  err: unknown,
  target: string,
  seen: TlsObservation,
  info: { servername?: string; clientCert: boolean; http2: boolean },
): CommsError | undefined {
  let code = errorCode(err) ?? '';
  let cause = err;
  // TLS 1.3 checks the client certificate after the client's handshake finished: undici then sees
  // the connection close ("other side closed") while the socket got the alert.
  if ((code === 'UND_ERR_SOCKET' || code === 'ECONNRESET') && seen.alert) {
    cause = seen.alert;
    code = errorCode(seen.alert) ?? code;
  }
  const where = ` (${target})`;
  const opts = (hint: string) => ({ cause, code: 'COMMS_ERR_TLS', hint });
  if (
    code === 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' ||
    (!info.clientCert &&
      (code === 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' || code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'))
  ) {
    return info.clientCert
      ? new ConnectError(
          `the server did not accept the client certificate${where}`,
          opts('check --cert/--key'),
        )
      : new ConnectError(
          `the server requires a client certificate (mutual TLS)${where}`,
          opts('pass the client certificate and its key with --cert FILE --key FILE'),
        );
  }
  if (
    info.clientCert &&
    (code === 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE' ||
      code === 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' ||
      code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN' ||
      code === 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED')
  ) {
    return new ConnectError(
      `the server rejected the client certificate given with --cert${where}`,
      opts('check that the server trusts the CA that issued --cert, and that it has not expired'),
    );
  }
  if (code === 'CERT_HAS_EXPIRED') {
    const when = seen.cert ? ` on ${isoDate(seen.cert.validTo)}` : '';
    return new ConnectError(
      `the server's certificate expired${when}${where}`,
      opts('the server needs a renewed certificate; -k/--insecure skips verification (tests only)'),
    );
  }
  if (code === 'CERT_NOT_YET_VALID') {
    const when = seen.cert ? ` until ${isoDate(seen.cert.validFrom)}` : '';
    return new ConnectError(
      `the server's certificate is not valid yet${when}${where}`,
      opts("check this machine's clock, or the certificate's start date"),
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    const names = seen.cert?.altNames ? `; it names ${seen.cert.altNames}` : '';
    if (info.servername)
      return new ConnectError(
        `the server's certificate does not name '${info.servername}' (--servername)${names}${where}`,
        opts('give --servername a name the certificate was issued for, or leave it out'),
      );
    return new ConnectError(
      `the server's certificate does not name this host${names}${where}`,
      opts('use a URL with a name the certificate has, or --servername NAME; -k skips verification'),
    );
  }
  if (code === 'ERR_SSL_TLSV1_ALERT_NO_APPLICATION_PROTOCOL') {
    return new ConnectError(
      `the server accepted none of the protocols offered over ALPN (${info.http2 ? 'h2, http/1.1' : 'http/1.1'})${where}`,
      opts(
        info.http2
          ? 'the port may serve another protocol (gRPC-only, h2c without TLS): check the server and port'
          : 'the server may speak only HTTP/2 here: try --http2',
      ),
    );
  }
  return undefined;
}
