import type { OptionTable } from '../../cli/options.js';
import { UsageError } from '../../errors/comms-error.js';

/**
 * The NATS connection flags, declared once (no @nats-io import here, so command files can attach them
 * without loading the client). `comms-cli nats ...` and `comms-cli events` (nats:SUBJECT handlers)
 * share them: `addOptions(cmd, NATS_CONNECTION_OPTIONS)` then `natsConnectOptionsFrom(flags)`.
 */
export interface NatsConnectionFlags {
  server?: string;
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  nkey?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
  name?: string;
}

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export const NATS_CONNECTION_OPTIONS: OptionTable<NatsConnectionFlags> = {
  server: {
    flags: '-s, --server <urls>',
    description: 'NATS server URL(s), comma-separated (also NATS_URL)',
    defaultDescription: DEFAULT_NATS_URL,
  },
  user: { flags: '--user <user>', description: 'user name (also NATS_USER)' },
  password: { flags: '--password <password>', description: 'password (also NATS_PASSWORD)' },
  token: { flags: '--token <token>', description: 'authentication token (also NATS_TOKEN)' },
  creds: { flags: '--creds <file>', description: 'user credentials file (JWT + nkey seed)' },
  nkey: { flags: '--nkey <file>', description: 'file holding an nkey seed (SU...)' },
  tlsCa: { flags: '--tls-ca <file>', description: 'CA certificate(s) to verify the server' },
  tlsCert: { flags: '--tls-cert <file>', description: 'client certificate (mutual TLS)' },
  tlsKey: { flags: '--tls-key <file>', description: 'client private key (mutual TLS)' },
  name: {
    flags: '--name <name>',
    description: 'connection name shown by the server',
    defaultDescription: 'comms-cli',
  },
};

/** How long to keep reconnecting after the connection drops. */
export type ReconnectPolicy = 'forever' | 'brief' | 'never';

/** Everything connectNats needs: plain data, no NATS types. */
export interface NatsConnectOptions {
  /** Server URLs (nats://, tls://, host:port). Credentials in a URL are allowed and redacted in output. */
  servers: string[];
  user?: string;
  password?: string;
  token?: string;
  credsFile?: string;
  nkeyFile?: string;
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Connection name (the server's connz shows it). */
  name: string;
  /** `forever` for subscribe/reply (they outlive a server restart), `brief` for one-shot calls. */
  reconnect: ReconnectPolicy;
  /** How long the first connect may take per server. */
  connectTimeoutMs: number;
}

/**
 * Flags (and the NATS_URL / NATS_USER / NATS_PASSWORD / NATS_TOKEN / NATS_CREDS / NATS_NKEY
 * environment) to connection options. Flags win over the environment.
 */
export function natsConnectOptionsFrom(
  flags: NatsConnectionFlags,
  {
    reconnect = 'brief',
    connectTimeoutMs = 5_000,
    env = process.env,
    flag = '--server',
  }: {
    reconnect?: ReconnectPolicy;
    connectTimeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    /** The option that carried `flags.server`, named in usage errors (`events --store` passes '--store'). */
    flag?: string;
  } = {},
): NatsConnectOptions {
  const serverText = flags.server ?? env.NATS_URL ?? DEFAULT_NATS_URL;
  const source = flags.server !== undefined ? flag : env.NATS_URL !== undefined ? 'NATS_URL' : flag;
  const servers = serverText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0)
    throw new UsageError(`invalid ${source} '${redactServer(serverText)}': no server URL`);
  for (const s of servers) checkServerUrl(s, source);
  const user = flags.user ?? env.NATS_USER;
  const password = flags.password ?? env.NATS_PASSWORD;
  const token = flags.token ?? env.NATS_TOKEN;
  const credsFile = flags.creds ?? env.NATS_CREDS;
  const nkeyFile = flags.nkey ?? env.NATS_NKEY;
  if (password !== undefined && user === undefined) throw new UsageError('--password needs --user');
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together (mutual TLS needs both)');
  }
  const tls =
    flags.tlsCa || flags.tlsCert
      ? {
          ...(flags.tlsCa ? { caFile: flags.tlsCa } : {}),
          ...(flags.tlsCert ? { certFile: flags.tlsCert } : {}),
          ...(flags.tlsKey ? { keyFile: flags.tlsKey } : {}),
        }
      : undefined;
  return {
    servers,
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(credsFile ? { credsFile } : {}),
    ...(nkeyFile ? { nkeyFile } : {}),
    ...(tls ? { tls } : {}),
    name: flags.name ?? 'comms-cli',
    reconnect,
    connectTimeoutMs,
  };
}

const SCHEMES = new Set(['nats:', 'tls:', 'ws:', 'wss:']);

/** Checks one server URL; messages show it with any user:password@ redacted (never the raw text). */
function checkServerUrl(text: string, flag: string): void {
  const shown = redactServer(text);
  // host:port and bare hosts are accepted as the nats CLI does; credentials need the nats:// form.
  if (!text.includes('://')) {
    if (!/^[\w.\-[\]:]+$/.test(text))
      throw new UsageError(`invalid ${flag} '${shown}'`, {
        hint: text.includes('@') ? 'write nats://user:password@host:4222' : 'write nats://host:4222',
      });
    return;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`invalid ${flag} '${shown}'`, { hint: 'write nats://host:4222' });
  }
  if (!SCHEMES.has(url.protocol)) {
    throw new UsageError(`invalid ${flag} '${url.protocol}//${url.host}': unsupported scheme`, {
      hint: 'use nats:// or tls://',
    });
  }
  if (url.protocol === 'ws:' || url.protocol === 'wss:') {
    throw new UsageError(`${flag} '${url.protocol}//${url.host}': websocket connections are not supported`, {
      hint: 'use nats:// or tls://',
    });
  }
}

/** A server list for messages: credentials in URLs replaced. */
export function describeServers(servers: readonly string[]): string {
  return servers.map(redactServer).join(',');
}

/**
 * One server URL with its credentials replaced: `nats://alice:pw@h:1` and `alice:pw@h:1` become
 * `…[REDACTED]@h:1`. Everything up to the LAST '@' is user info, so a password holding '@' or '/'
 * never leaks, even from text that is not a valid URL.
 */
export function redactServer(server: string): string {
  const at = server.lastIndexOf('@');
  if (at < 0) return server;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(server)?.[0] ?? '';
  if (at < scheme.length) return server;
  return `${scheme}[REDACTED]${server.slice(at)}`;
}
