import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ConnectError, UsageError } from '../../errors/comms-error.js';

/** The most of a proxy's CONNECT answer we read before giving up on it (headers only). */
const MAX_CONNECT_HEADER = 16 * 1024;

/**
 * The proxy a ws(s):// URL goes through, from the environment as curl and undici read it:
 * `http_proxy`/`HTTP_PROXY` for ws://, `https_proxy`/`HTTPS_PROXY` (else the HTTP one) for wss://,
 * lower case first (an empty one counts as unset); `no_proxy`/`NO_PROXY` lists hosts reached directly. A bad proxy URL is exit 2.
 */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const httpProxy = env.http_proxy || env.HTTP_PROXY;
  const httpsProxy = env.https_proxy || env.HTTPS_PROXY;
  const secure = target.protocol === 'wss:';
  const raw = (secure ? httpsProxy || httpProxy : httpProxy)?.trim();
  if (!raw) return undefined;
  if (bypassed(target, env.no_proxy || env.NO_PROXY || '')) return undefined;
  const name = secure && httpsProxy ? 'HTTPS_PROXY' : 'HTTP_PROXY';
  let proxy: URL;
  try {
    proxy = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`invalid ${name} in the environment: not a URL`);
  }
  if (proxy.protocol !== 'http:' && proxy.protocol !== 'https:')
    throw new UsageError(`unsupported ${name} scheme '${proxy.protocol}': use an http:// or https:// proxy`);
  return proxy;
}

/** NO_PROXY: `*`, or host names / domain suffixes / IPs, each with an optional `:port`. */
function bypassed(target: URL, noProxy: string): boolean {
  const host = target.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = target.port || (target.protocol === 'wss:' ? '443' : '80');
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(entry);
    if (m) {
      entry = m[1] ?? '';
      entryPort = m[2];
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*/, '');
    if (entryPort !== undefined && entryPort !== port) continue;
    if (
      entry.startsWith('.')
        ? host.endsWith(entry) || host === entry.slice(1)
        : host === entry || host.endsWith(`.${entry}`)
    )
      return true;
  }
  return false;
}

/** The proxy's address for people: no credentials. */
export function showProxy(proxy: URL): string {
  return `${proxy.protocol}//${proxy.host}`;
}

export interface TunnelOptions {
  proxy: URL;
  /** host:port to reach through the proxy. */
  host: string;
  port: number;
  signal: AbortSignal;
  /** The socket to the proxy, as soon as it exists (for timing). */
  onSocket?(socket: Socket): void;
}

/**
 * Open a tunnel through an HTTP CONNECT proxy and hand back the raw socket to the target (TLS to a
 * wss:// target is layered on it by the caller). `ws` itself has no proxy support; its
 * `createConnection` hook accepts a socket delivered later, so the tunnel stays our own ~50 lines
 * rather than another dependency.
 */
export function openTunnel(opts: TunnelOptions): Promise<Socket> {
  const { proxy, signal } = opts;
  const proxyPort = Number(proxy.port || (proxy.protocol === 'https:' ? 443 : 80));
  const where = `proxy ${showProxy(proxy)}`;
  return new Promise<Socket>((resolve, reject) => {
    const socket: Socket =
      proxy.protocol === 'https:'
        ? tlsConnect({ host: proxy.hostname, port: proxyPort, servername: proxy.hostname })
        : netConnect({ host: proxy.hostname, port: proxyPort });
    opts.onSocket?.(socket);
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(signal.reason as Error);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    const onError = (err: Error) => fail(err);
    const onClose = () => fail(new ConnectError(`${where} closed the connection before answering CONNECT`));
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once(proxy.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      const target = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
      const auth =
        proxy.username || proxy.password
          ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n`
          : '';
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
    });
    // 'readable' + read() rather than 'data': the stream must not flow (and lose the target's first
    // bytes) between the proxy's answer and the HTTP client taking the socket over.
    let head = Buffer.alloc(0);
    const onReadable = () => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk !== null;
        chunk = socket.read() as Buffer | null
      ) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > MAX_CONNECT_HEADER) fail(new ConnectError(`${where}: CONNECT answer too long`));
          continue;
        }
        socket.off('readable', onReadable);
        const status = /^HTTP\/1\.[01] (\d{3})([^\r\n]*)/.exec(head.subarray(0, end).toString('latin1'));
        const code = Number(status?.[1] ?? 0);
        if (code < 200 || code > 299) {
          fail(
            new ConnectError(`${where} refused the tunnel: ${status ? `${code}${status[2]}` : 'not HTTP'}`, {
              code: 'COMMS_ERR_PROXY',
              ...(code === 407
                ? { hint: 'put the proxy credentials in the URL: HTTP_PROXY=http://user:password@host:port' }
                : { hint: 'or list the host in NO_PROXY to connect directly' }),
            }),
          );
          return;
        }
        const rest = head.subarray(end + 4);
        if (rest.length > 0) socket.unshift(rest);
        settled = true;
        signal.removeEventListener('abort', onAbort);
        // onError/onClose stay: settled makes them no-ops, and the socket is never without an error listener.
        resolve(socket);
        return;
      }
    };
    socket.on('readable', onReadable);
  });
}
