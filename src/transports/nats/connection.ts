import { access, readFile } from 'node:fs/promises';
import {
  connect,
  credsAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
  nkeyAuthenticator,
} from '@nats-io/transport-node';
import { UsageError } from '../../errors/comms-error.js';
import type { Output } from '../../output/output.js';
import { describeServers, type NatsConnectOptions, redactServer } from './connection-options.js';
import { connectFailure } from './errors.js';

export type { NatsConnection } from '@nats-io/transport-node';
export { type NatsConnectOptions, natsConnectOptionsFrom } from './connection-options.js';

/** Observers of the connection's life, for callers that want more than `-v` lines. */
export interface ConnectionEvents {
  onStatus?(status: { type: string; server?: string }): void;
  /**
   * Report a lost and a regained connection on stderr without -v (as the nats CLI does): one
   * `nats: disconnected from ...` when it drops, one `nats: reconnected to ...` when it is back,
   * however many attempts lie between (those show with -v). For long-running commands
   * (subscribe, reply), whose user otherwise sees nothing while the server is down.
   */
  announceReconnects?: boolean;
}

/**
 * Connect to NATS with comms-cli's conventions, for every NATS user in comms-cli (`nats` commands,
 * `events` with a JetStream store or `nats:SUBJECT` handlers):
 * - servers from `-s`/NATS_URL (see natsConnectOptionsFrom), user/password, token, creds, nkey, TLS, name;
 * - reconnects reported on stderr with `-v` (disconnected / reconnecting / reconnected), when `output` is given;
 * - a failed first connect throws a typed error and nothing else: ConnectError (exit 3) for refused,
 *   unresolvable, TLS and rejected authorization (code COMMS_ERR_NATS_AUTH), UsageError (exit 2) for
 *   unreadable creds/nkey/TLS files. Messages name the server with credentials redacted; no stack trace.
 *
 * @example
 *   const nc = await connectNats(natsConnectOptionsFrom(flags, { reconnect: 'forever' }), output);
 *   try { ... } finally { await nc.drain(); }
 */
export async function connectNats(
  options: NatsConnectOptions,
  output?: Output,
  events: ConnectionEvents = {},
): Promise<NatsConnection> {
  const where = describeServers(options.servers);
  const { servers, user, password, token } = credentialsFromUrls(options);
  const opts: NodeConnectionOptions = {
    servers,
    name: options.name,
    timeout: options.connectTimeoutMs,
    ...reconnectSettings(options),
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { pass: password } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(options.asyncTraces === false ? { noAsyncTraces: true } : {}),
  };
  const authenticators = [];
  if (options.credsFile) {
    const creds = await readSecretFile(options.credsFile, '--creds');
    authenticators.push(credsAuthenticator(creds));
  }
  if (options.nkeyFile) {
    const seed = new TextEncoder().encode(
      (await readSecretFile(options.nkeyFile, '--nkey')).toString('utf8').trim(),
    );
    authenticators.push(nkeyAuthenticator(seed));
  }
  if (authenticators.length > 0) opts.authenticator = authenticators;
  if (options.tls) {
    for (const [flag, file] of [
      ['--tls-ca', options.tls.caFile],
      ['--tls-cert', options.tls.certFile],
      ['--tls-key', options.tls.keyFile],
    ] as const) {
      if (file) await mustBeReadable(file, flag);
    }
    opts.tls = { ...options.tls };
  } else if (options.servers.some((s) => s.startsWith('tls://'))) {
    opts.tls = {};
  }

  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (err) {
    throw connectFailure(err, where, options.connectTimeoutMs);
  }
  void watchStatus(nc, output, events);
  return nc;
}

/**
 * nats.js v3 ignores `user:pass@` (or `token@`) in server URLs, which the nats CLI and NATS_URL users
 * rely on: lift them into the options (flags win) and strip them from the URLs handed to the client.
 */
function credentialsFromUrls(options: NatsConnectOptions): {
  servers: string[];
  user: string | undefined;
  password: string | undefined;
  token: string | undefined;
} {
  let { user, password, token } = options;
  const servers = options.servers.map((server) => {
    if (!server.includes('@') || !server.includes('://')) return server;
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      return server;
    }
    if (!url.username) return server;
    const name = decodeURIComponent(url.username);
    const pass = url.password ? decodeURIComponent(url.password) : undefined;
    if (user === undefined && token === undefined) {
      if (pass !== undefined) {
        user = name;
        password = pass;
      } else token = name;
    }
    return `${url.protocol}//${url.host}`;
  });
  return { servers, user, password, token };
}

/**
 * Drain (pending acks and publishes go out), but never wait longer than `graceMs`: when the server is
 * down a drain would wait for a reconnect that may never come, and Ctrl-C must still end the command.
 */
export async function closeNats(nc: NatsConnection, graceMs = 2_000): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    nc.drain().then(
      () => true,
      () => false,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (!drained && !nc.isClosed()) await nc.close().catch(() => undefined);
}

function reconnectSettings(options: NatsConnectOptions): Partial<NodeConnectionOptions> {
  switch (options.reconnect) {
    case 'never':
      return { reconnect: false };
    case 'forever':
      // Subscribers outlive a server restart: keep trying, quickly, for as long as the user waits.
      return { reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, reconnectJitter: 100 };
    default:
      return { reconnect: true, maxReconnectAttempts: 10, reconnectTimeWait: 250, reconnectJitter: 100 };
  }
}

async function watchStatus(
  nc: NatsConnection,
  output: Output | undefined,
  events: ConnectionEvents,
): Promise<void> {
  // One line per outage, not one per attempt: `down` is set at the first disconnect and cleared on
  // reconnect, so repeated disconnect/reconnecting statuses while the server stays away say nothing.
  let down = false;
  const announce = (line: string) => {
    if (!output) return;
    // stderr even with --json (it is not data); -q hides it.
    if (events.announceReconnects) {
      if (!output.options.quiet) output.err.write(`${line}\n`);
    } else output.verbose(line);
  };
  for await (const s of nc.status()) {
    const server = 'server' in s && typeof s.server === 'string' ? redactServer(s.server) : undefined;
    events.onStatus?.({ type: s.type, ...(server ? { server } : {}) });
    if (!output) continue;
    switch (s.type) {
      case 'disconnect':
        if (down) break;
        down = true;
        announce(output.c.yellow(`nats: disconnected from ${server}; reconnecting`));
        break;
      case 'reconnecting':
        output.verbose(output.c.yellow('nats: reconnecting...'));
        break;
      case 'reconnect':
        down = false;
        announce(output.c.green(`nats: reconnected to ${server}`));
        break;
      case 'error':
        output.verbose(output.c.red(`nats: server error: ${s.error.message}`));
        break;
      case 'slowConsumer':
        output.verbose(
          output.c.yellow(`nats: slow consumer on ${s.sub.getSubject()} (${s.pending} pending)`),
        );
        break;
      default:
        break;
    }
  }
}

async function readSecretFile(path: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw unreadable(err, path, flag);
  }
}

async function mustBeReadable(path: string, flag: string): Promise<void> {
  try {
    await access(path);
  } catch (err) {
    throw unreadable(err, path, flag);
  }
}

function unreadable(err: unknown, path: string, flag: string): UsageError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
  return new UsageError(`cannot read ${flag} file '${path}': ${why}`, { cause: err });
}
