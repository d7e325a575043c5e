import { createRequire } from 'node:module';
import type { ChannelModel } from 'amqplib';
import type { TlsMaterial } from '../../command/tls-options.js';
import { UsageError } from '../../errors/comms-error.js';
import { redactUrl } from '../../output/redact.js';
import { amqpError } from './errors.js';
import { DEFAULT_AMQP_URL } from './flags.js';

const requireCjs = createRequire(import.meta.url);
/**
 * amqplib is CommonJS: required, not imported. `import('amqplib')` from the CLI started Node's ESM loader
 * for it and had cjs-module-lexer parse the package's files for their export names, on every run
 * (measured: about 1.3x the CPU of requiring it, 60-90 ms against 50-55 ms on a busy machine).
 */
function loadAmqplib(): typeof import('amqplib') {
  return requireCjs('amqplib') as typeof import('amqplib');
}

/** Where and how to connect, checked before anything is sent. */
export interface AmqpEndpoint {
  /** The URL handed to amqplib (credentials inside). */
  readonly url: string;
  /** The URL as output shows it: the password redacted unless --show-secrets. */
  readonly display: string;
  readonly tls: TlsMaterial;
  /** Give up connecting after this long (the --timeout of one attempt, or 10 s). */
  readonly connectTimeoutMs: number;
}

/** --url, else AMQP_URL, else the local broker; validated (exit 2 on a bad one). */
export function amqpEndpoint(
  urlOption: string | undefined,
  tls: TlsMaterial,
  { showSecrets, connectTimeoutMs }: { showSecrets: boolean; connectTimeoutMs: number },
  env: NodeJS.ProcessEnv = process.env,
): AmqpEndpoint {
  const text = urlOption ?? (env.AMQP_URL || DEFAULT_AMQP_URL);
  const from = urlOption !== undefined ? '--url' : env.AMQP_URL ? 'AMQP_URL' : 'default';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`invalid ${from} '${redactUrl(text)}'`, {
      hint: 'write amqp://user:pass@host:5672/vhost (amqps:// for TLS)',
    });
  }
  if (url.protocol !== 'amqp:' && url.protocol !== 'amqps:')
    throw new UsageError(`unsupported scheme '${url.protocol}' in ${from} '${redactUrl(text)}'`, {
      hint: 'use amqp:// or amqps://',
    });
  if (!url.hostname) throw new UsageError(`invalid ${from} '${redactUrl(text)}': no host`);
  if (url.protocol === 'amqp:' && (tls.ca || tls.cert || tls.insecure))
    throw new UsageError('TLS options need an amqps:// URL');
  return {
    url: text,
    display: showSecrets ? text : redactUrl(text),
    tls,
    connectTimeoutMs: connectTimeoutMs > 0 && Number.isFinite(connectTimeoutMs) ? connectTimeoutMs : 10_000,
  };
}

/** Connect (amqplib is loaded here, on first use), errors typed. */
export async function connectAmqp(endpoint: AmqpEndpoint): Promise<ChannelModel> {
  const amqp = loadAmqplib();
  const { tls } = endpoint;
  try {
    return await amqp.connect(endpoint.url, {
      timeout: endpoint.connectTimeoutMs,
      clientProperties: { connection_name: 'comms-cli' },
      ...(tls.ca ? { ca: [tls.ca] } : {}),
      ...(tls.cert ? { cert: tls.cert } : {}),
      ...(tls.key ? { key: tls.key } : {}),
      ...(tls.insecure ? { rejectUnauthorized: false } : {}),
      ...(tls.servername ? { servername: tls.servername } : {}),
    });
  } catch (err) {
    throw amqpError(err, endpoint.display);
  }
}

/** Close, ignoring a connection that is already gone. */
export async function closeAmqp(conn: ChannelModel | undefined): Promise<void> {
  if (!conn) return;
  await conn.close().catch(() => undefined);
}

/** AMQP short strings (queue, exchange, routing key) are at most 255 bytes. */
export function checkShortString(value: string, what: string): void {
  if (Buffer.byteLength(value, 'utf8') > 255)
    throw new UsageError(`${what} is ${Buffer.byteLength(value, 'utf8')} bytes: AMQP allows at most 255`, {
      hint: `shorten the ${what}`,
    });
}
