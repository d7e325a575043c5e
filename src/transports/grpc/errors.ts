import { type CommsError, ConnectError, ResponseError, TimeoutError } from '../../errors/comms-error.js';
import { escapeControls } from './escape.js';
import { codeOf, statusName } from './status-codes.js';

/**
 * grpc-js errors -> typed CommsErrors, at the boundary of the gRPC slice. The kind is decided by the
 * gRPC status `code` (a number on grpc-js' ServiceError), never by the message text:
 * DEADLINE_EXCEEDED is a timeout (exit 4), UNAVAILABLE without a connection is a connect failure
 * (exit 3), any other non-OK status a failed call (exit 1) with the stable code COMMS_ERR_GRPC_<STATUS>.
 *
 * Where grpc-js does not expose a field, the details text is all there is: when a connection cannot
 * be made, grpc-js keeps only the socket error's `message` (transport.ts rejects with a string, and the
 * load balancer reports it as `No connection established. Last error: <message> (<time>)`), so the
 * Node error `code` (ECONNREFUSED, ENOTFOUND...) is read back from that text as the word Node puts in
 * its system-error messages, and a TLS handshake failure (OpenSSL and certificate-verification
 * messages carry no code word) is recognised by its wording. That is the only text matching here.
 */

/** The fields of grpc-js' ServiceError (an Error with a status code, details and trailers). */
export interface GrpcErrorLike {
  code?: number;
  details?: string;
  message?: string;
}

/** The Node system-error code in a message that lost its `code` field (`connect ECONNREFUSED 127.0.0.1:1`). */
function systemCodeIn(text: string): string | undefined {
  return /\b(E[A-Z]{3,}|ERR_[A-Z0-9_]+)\b/.exec(text)?.[1];
}

/** OpenSSL and certificate-verification wording (grpc-js passes no `code` for these: see above). */
const TLS_TROUBLE =
  /certificate|self[- ]signed|SSL|TLS|handshake|unable to verify|altnames|wrong version number/i;

/** What the connection was set up with, for hints that must not ask for what was already given. */
export interface ConnectContext {
  /** --cert/--key were passed (mutual TLS). */
  clientCert?: boolean;
  /** The channel speaks TLS. */
  tls?: boolean;
}

function tlsHint(text: string, ctx: ConnectContext): string {
  if (/certificate has expired|expired on/i.test(text))
    return 'the server must renew its certificate (-k/--insecure skips verification, for testing only)';
  if (/not yet valid|not valid before/i.test(text))
    return "check the server's (and this machine's) clock (-k/--insecure skips verification)";
  if (/altnames|does not match|Hostname/i.test(text))
    return 'the certificate does not name this host: use --servername NAME, or -k to skip verification';
  if (/wrong version number|packet length too long/i.test(text))
    return 'the server may not speak TLS on this port: drop --tls';
  if (/certificate required|alert number 116|bad certificate|unknown ca|alert number 4[2-9]/i.test(text)) {
    // A client certificate was sent and refused: asking for --cert/--key again would mislead.
    if (ctx.clientCert)
      return 'the server refused the client certificate from --cert: is it issued by a CA the server trusts, valid, and meant for client auth?';
    return 'the server wants a client certificate: pass --cert FILE --key FILE';
  }
  return 'pass the server CA with --cacert FILE, or -k/--insecure to skip verification';
}

/** grpc-js' text for a failed connection, without its wrapping and OpenSSL's file/line noise. */
function connectReason(details: string): string {
  const text = details
    .replace(/^No connection established\. Last error: (Error: )?/, '')
    .replace(/\. Resolution note:.*$/s, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)\s*$/, '')
    .trim();
  const ssl = /SSL routines:[^:]*:([^:]+):/.exec(text);
  return ssl?.[1] ?? text;
}

/**
 * A connection that was never made (refused, DNS, TLS handshake) as a ConnectError with a hint
 * (exit 3). `details` is the UNAVAILABLE status' details, the only place grpc-js reports why.
 */
export function connectErrorFrom(details: string, target: string, ctx: ConnectContext = {}): ConnectError {
  const why = connectReason(details);
  const system = systemCodeIn(why);
  if (TLS_TROUBLE.test(details)) {
    return new ConnectError(`TLS handshake with ${target} failed: ${why}`, {
      code: 'COMMS_ERR_TLS',
      hint: tlsHint(details, ctx),
    });
  }
  // grpc-js' own words for a connection that opened and then failed before HTTP/2 settings ("Failed
  // to connect", "Connection dropped"): typically a TLS server spoken to in plaintext.
  // A reset right after TLS set-up is the same thing seen a moment later (a loaded machine reads the
  // reset before grpc-js reports the drop).
  const dropped =
    /Failed to connect|Connection dropped/i.test(why) || (ctx.tls === true && system === 'ECONNRESET');
  // With TLS 1.3 a server that refuses the client certificate does so after the client's side of the
  // handshake is done: the client sees only the connection closing before HTTP/2 starts.
  const hint =
    system === 'ECONNREFUSED'
      ? 'is the server running and listening on that port?'
      : dropped && ctx.tls && ctx.clientCert
        ? 'the server closed the connection after the TLS handshake: it may have refused the client certificate from --cert (issued by a CA it trusts? valid? meant for client auth?)'
        : dropped && ctx.tls
          ? 'the server closed the connection during TLS set-up: if it wants a client certificate, pass --cert FILE --key FILE'
          : dropped
            ? 'if the server speaks TLS, add --tls (and --cacert FILE)'
            : undefined;
  return new ConnectError(`cannot connect to ${target}: ${why}`, hint ? { hint } : {});
}

/**
 * A non-OK status that grpc-js raised as an error (a stream's 'error' event, a unary callback), by its
 * status code. `what` names the request for a timeout message (`reflection request`).
 */
export function grpcErrorFrom(
  err: GrpcErrorLike,
  target: string,
  what: string,
  ctx: ConnectContext = {},
): CommsError {
  const details = err.details ?? err.message ?? '';
  if (err.code === codeOf('DEADLINE_EXCEEDED'))
    return new TimeoutError(`${what} to ${target} timed out`, { cause: err });
  if (err.code === codeOf('UNAVAILABLE')) return connectErrorFrom(details, target, ctx);
  const status = statusName(err.code ?? codeOf('UNKNOWN'));
  return new ResponseError(details ? `${status}: ${escapeControls(details)}` : status, {
    cause: err,
    code: `COMMS_ERR_GRPC_${status}`,
  });
}

/** True when `err` is (or was translated from) the gRPC status `name`. */
export function isGrpcStatus(err: unknown, name: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown };
  return e.code === codeOf(name) || e.code === `COMMS_ERR_GRPC_${name}`;
}

const STATUS_OF = new WeakMap<object, string>();

/** Tag an error comms-cli raised itself with the gRPC status the spec gives that failure. */
export function withGrpcStatus<E extends CommsError>(err: E, status: string): E {
  STATUS_OF.set(err, status);
  return err;
}

/**
 * The gRPC status name of a failed attempt, so every gRPC result carries one: a tagged error's own
 * status, a `COMMS_ERR_GRPC_<STATUS>` code, else by kind (a deadline is DEADLINE_EXCEEDED, no
 * connection UNAVAILABLE, Ctrl-C CANCELLED, anything else of ours INTERNAL or UNKNOWN).
 */
export function grpcStatusOfError(err: CommsError): string {
  const tagged = STATUS_OF.get(err);
  if (tagged) return tagged;
  const m = /^COMMS_ERR_GRPC_([A-Z_]+)$/.exec(err.code);
  if (m && codeOf(m[1] as string) >= 0) return m[1] as string;
  switch (err.kind) {
    case 'timeout':
      return 'DEADLINE_EXCEEDED';
    case 'connect':
    case 'breaker':
      return 'UNAVAILABLE';
    case 'interrupted':
      return 'CANCELLED';
    case 'local':
    case 'usage':
      return 'INTERNAL';
    default:
      return 'UNKNOWN';
  }
}
