import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { UsageError } from '../../errors/comms-error.js';

/**
 * curl's --resolve and --connect-to: where a connection for `host:port` really goes. The URL is
 * unchanged, so the Host header, the TLS SNI and the certificate check keep the URL's name; only the
 * socket's address (and, with --connect-to, port) differ.
 */
export interface ConnectRule {
  /** The URL host it applies to, lower-case, without brackets; undefined = any host. */
  readonly host?: string;
  /** The URL port it applies to; undefined = any port. */
  readonly port?: number;
  /** Connect here instead (undefined = the same host). */
  readonly toHost?: string;
  /** ... on this port (undefined = the same port). */
  readonly toPort?: number;
}

/** Split on ':' outside [brackets] (IPv6 literals), removing the brackets. */
function fields(spec: string, max: number): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    if (out.length === max - 1) {
      out.push(unbracket(spec.slice(i)));
      return out;
    }
    let end: number;
    if (spec[i] === '[') {
      end = spec.indexOf(']', i);
      if (end < 0) return [];
      end += 1;
      if (end < spec.length && spec[end] !== ':') return [];
    } else {
      end = spec.indexOf(':', i);
      if (end < 0) end = spec.length;
    }
    out.push(unbracket(spec.slice(i, end)));
    if (end >= spec.length) return out;
    i = end + 1;
  }
}

function unbracket(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

function portOf(raw: string): number | undefined {
  if (!/^\d{1,5}$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `--resolve [+]host:port:addr[,addr]...` (`*` for any host). The first address is used. */
export function parseResolve(spec: string): ConnectRule {
  const bad = (why: string) =>
    new UsageError(`invalid --resolve '${spec}': ${why}`, {
      hint: 'e.g. --resolve example.test:443:127.0.0.1 (IPv6: [::1])',
    });
  const [host = '', portText = '', addrs = ''] = fields(spec.replace(/^\+/, ''), 3);
  if (host === '') throw bad('expected host:port:address');
  const port = portOf(portText);
  if (port === undefined) throw bad(`'${portText}' is not a port (1-65535)`);
  const addr = unbracket(addrs.split(',')[0] ?? '');
  if (isIP(addr) === 0) throw bad(`'${addrs}' is not an IP address`);
  return { ...(host === '*' ? {} : { host: host.toLowerCase() }), port, toHost: addr };
}

/** `--connect-to HOST1:PORT1:HOST2:PORT2`; an empty field means any (1, 2) or the same (3, 4). */
export function parseConnectTo(spec: string): ConnectRule {
  const bad = (why: string) =>
    new UsageError(`invalid --connect-to '${spec}': ${why}`, {
      hint: 'e.g. --connect-to example.test:443:127.0.0.1:8443 (empty fields: any host/port, same host/port)',
    });
  const parts = fields(spec, 4);
  if (parts.length !== 4) throw bad('expected HOST1:PORT1:HOST2:PORT2');
  const [host = '', portText = '', toHost = '', toPortText = ''] = parts;
  const port = portText === '' ? undefined : portOf(portText);
  if (portText !== '' && port === undefined) throw bad(`'${portText}' is not a port (1-65535)`);
  const toPort = toPortText === '' ? undefined : portOf(toPortText);
  if (toPortText !== '' && toPort === undefined) throw bad(`'${toPortText}' is not a port (1-65535)`);
  if (/[\s/?#@]/.test(toHost)) throw bad(`'${toHost}' is not a host name`);
  return {
    ...(host !== '' ? { host: host.toLowerCase() } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(toHost !== '' ? { toHost: toHost.toLowerCase() } : {}),
    ...(toPort !== undefined ? { toPort } : {}),
  };
}

function matches(rule: ConnectRule, host: string, port: number): boolean {
  return (rule.host === undefined || rule.host === host) && (rule.port === undefined || rule.port === port);
}

/**
 * Where to connect for a URL's host and port: the first matching --connect-to rule, then the first
 * --resolve rule matching the result (curl applies them in that order). undefined = unchanged.
 */
export function routeFor(
  connectTo: readonly ConnectRule[],
  resolve: readonly ConnectRule[],
  hostname: string,
  port: number,
): { hostname: string; port: number } | undefined {
  let host = unbracket(hostname).toLowerCase();
  let p = port;
  const c = connectTo.find((r) => matches(r, host, p));
  if (c) {
    host = c.toHost ?? host;
    p = c.toPort ?? p;
  }
  const r = resolve.find((rule) => matches(rule, host, p));
  if (r?.toHost) host = r.toHost;
  if (!c && !r) return undefined;
  return { hostname: host, port: p };
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * The connector's name lookup: `localhost` and `*.localhost` are loopback (RFC 6761) and answered
 * without the system resolver, as curl does; every other name goes to `dns.lookup` as before.
 * Measured: a process's first getaddrinfo (the libuv thread pool starting, the NSS modules loading)
 * put ~2-3 ms into `dns` for `http://localhost`, where curl reads ~0.04 ms. IPv4 first: a server
 * bound to 127.0.0.1 only (the common case) then costs no refused IPv6 attempt; ::1 is tried next.
 */
export function lookupLoopbackNames(
  hostname: string,
  options: LookupOptions,
  callback: LookupCallback,
): void {
  if (!isLoopbackName(hostname)) {
    dnsLookup(hostname, { ...options, all: options.all === true }, callback);
    return;
  }
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
  const found: LookupAddress[] = [
    { address: '127.0.0.1', family: 4 },
    { address: '::1', family: 6 },
  ].filter((a) => !family || a.family === family);
  const first = found[0] ?? { address: '127.0.0.1', family: 4 };
  process.nextTick(() => {
    if (options.all) callback(null, found, 0);
    else callback(null, first.address, first.family);
  });
}

function isLoopbackName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Loads node:dns now when a call to `hostname` will go through the system resolver. The bundle loads
 * node:dns on first use (a call to an address or to localhost never needs it), and the HTTP warm-up
 * calls this before the clock starts, so loading the module is never counted as the call's `dns` time.
 */
export function prepareResolverFor(hostname: string): void {
  if (isIP(hostname) === 0 && !isLoopbackName(hostname) && typeof dnsLookup !== 'function')
    throw new Error('node:dns has no lookup');
}
