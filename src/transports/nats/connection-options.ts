import { type OptionValues, path, text } from '../../command/option.js';
import { UsageError } from '../../errors/comms-error.js';
import { loadNatsContext } from './context.js';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/**
 * The NATS connection options, declared once (no @nats-io import here, so register files can attach
 * them without loading the client). `comms-cli nats ...` and `comms-cli events` (a JetStream store,
 * nats:SUBJECT handlers) share them: `addOptions(cmd, NATS_CONNECTION_OPTIONS)`, then
 * `natsConnectOptionsFrom(values)`. `--server` has no table default: NATS_URL comes before it.
 */
export const NATS_CONNECTION_OPTIONS = {
  server: text(
    '-s, --server <urls>',
    `NATS server URL(s), comma-separated (also NATS_URL; default ${DEFAULT_NATS_URL})`,
  ),
  user: text('--user <user>', 'user name (also NATS_USER)'),
  password: text('--password <password>', 'password (also NATS_PASSWORD)', { secret: true }),
  token: text('--token <token>', 'authentication token (also NATS_TOKEN)', { secret: true }),
  creds: path('--creds <file>', 'user credentials file (JWT + nkey seed)', { secret: true }),
  nkey: path('--nkey <file>', 'file holding an nkey seed (SU...)', { secret: true }),
  tlsCa: path('--tls-ca <file>', 'CA certificate(s) to verify the server'),
  tlsCert: path('--tls-cert <file>', 'client certificate (mutual TLS)'),
  tlsKey: path('--tls-key <file>', 'client private key (mutual TLS)', { secret: true }),
  name: text('--name <name>', 'connection name shown by the server', { default: 'comms-cli' }),
  context: text(
    '--context <name>',
    'a nats CLI context (~/.config/nats/context/NAME.json; also NATS_CONTEXT, else the one `nats context select` chose); flags and env win',
  ),
};
export type NatsConnectionValues = OptionValues<typeof NATS_CONNECTION_OPTIONS>;

/**
 * The connection values as callers hold them: any subset (an events store passes its own server, a
 * handler none). Typed values from the table fit as they are.
 */
export type NatsConnectionInput = Partial<NatsConnectionValues>;
/** @deprecated the old name of NatsConnectionInput, kept while src/events moves to the tables. */
export type NatsConnectionFlags = NatsConnectionInput;

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
  /**
   * false: nats.js builds no Error objects per request to keep an async stack (it makes two per
   * request otherwise). Load mode turns them off: stacks are shown only with --debug.
   */
  asyncTraces?: boolean;
}

/**
 * The typed connection values (and the NATS_URL / NATS_USER / NATS_PASSWORD / NATS_TOKEN / NATS_CREDS /
 * NATS_NKEY environment, and the nats CLI context chosen by --context / NATS_CONTEXT / context.txt) to
 * connection options, checked (exit 2 on a bad URL, an incomplete pair or a missing context).
 * Options win over the environment, the environment over the context.
 */
export function natsConnectOptionsFrom(
  values: NatsConnectionInput,
  {
    reconnect = 'brief',
    connectTimeoutMs = 5_000,
    env = process.env,
    flag = '--server',
  }: {
    reconnect?: ReconnectPolicy;
    connectTimeoutMs?: number;
    env?: NodeJS.ProcessEnv;
    /** The option that carried `values.server`, named in usage errors (`events --store` passes '--store'). */
    flag?: string;
  } = {},
): NatsConnectOptions {
  const context = loadNatsContext(values.context, env);
  const serverText = values.server ?? env.NATS_URL ?? context?.url ?? DEFAULT_NATS_URL;
  const source =
    values.server !== undefined
      ? flag
      : env.NATS_URL !== undefined
        ? 'NATS_URL'
        : context?.url !== undefined
          ? `url of NATS context '${context.name}'`
          : flag;
  const servers = serverText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0)
    throw new UsageError(`invalid ${source} '${redactServer(serverText)}': no server URL`);
  for (const s of servers) checkServerUrl(s, source);
  const user = values.user ?? env.NATS_USER ?? context?.user;
  const password = values.password ?? env.NATS_PASSWORD ?? context?.password;
  const token = values.token ?? env.NATS_TOKEN ?? context?.token;
  const credsFile = values.creds ?? env.NATS_CREDS ?? context?.creds;
  const nkeyFile = values.nkey ?? env.NATS_NKEY ?? context?.nkey;
  if (password !== undefined && user === undefined) throw new UsageError('--password needs --user');
  if ((values.tlsCert === undefined) !== (values.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together (mutual TLS needs both)');
  }
  // The client certificate pair comes whole from the flags or whole from the context.
  const pair =
    values.tlsCert !== undefined
      ? { cert: values.tlsCert, key: values.tlsKey }
      : context?.cert !== undefined && context.key !== undefined
        ? { cert: context.cert, key: context.key }
        : undefined;
  const tlsCa = values.tlsCa ?? context?.ca;
  const tls =
    tlsCa || pair
      ? {
          ...(tlsCa ? { caFile: tlsCa } : {}),
          ...(pair?.cert ? { certFile: pair.cert } : {}),
          ...(pair?.key ? { keyFile: pair.key } : {}),
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
    name: values.name ?? 'comms-cli',
    reconnect,
    connectTimeoutMs,
  };
}

const SCHEMES = new Set(['nats:', 'tls:', 'ws:', 'wss:']);

/** Checks one server URL; messages show it with any user:password@ redacted (never the raw text). */
function checkServerUrl(text: string, flag: string): void {
  const shown = redactServer(text);
  // host:port and bare hosts are accepted as the nats CLI does; credentials need the nats:// form.
  // Either way the host and port must parse (`garbage::` and `h:99999` are usage errors, not
  // connection failures).
  if (!text.includes('://')) {
    if (!/^[\w.\-[\]:]+$/.test(text) || !parses(`nats://${text}`))
      throw new UsageError(`invalid ${flag} '${shown}'`, {
        hint: text.includes('@')
          ? 'write nats://user:password@host:4222'
          : 'write host:4222 or nats://host:4222',
      });
    return;
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`invalid ${flag} '${shown}'`, { hint: 'write nats://host:4222' });
  }
  if (url.hostname === '')
    throw new UsageError(`invalid ${flag} '${shown}': no host`, { hint: 'write nats://host:4222' });
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

function parses(url: string): boolean {
  try {
    return new URL(url).hostname !== '';
  } catch {
    return false;
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
