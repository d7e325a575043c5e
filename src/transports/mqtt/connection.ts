import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { IClientOptions, MqttClient } from 'mqtt';
import type { TlsMaterial } from '../../command/tls-options.js';
import { raceSignal } from '../../core/race-signal.js';
import { UsageError } from '../../errors/comms-error.js';
import { redactUrl } from '../../output/redact.js';
import { mqttError } from './errors.js';
import { DEFAULT_MQTT_URL } from './flags.js';

const requireCjs = createRequire(import.meta.url);
/**
 * mqtt is CommonJS: required, not imported. `import('mqtt')` from the CLI started Node's ESM loader
 * for it and had cjs-module-lexer parse the package's files for their export names, on every run
 * (measured: about 2.5x the CPU of requiring it, ~300 ms against ~120 ms on a busy machine).
 */
function loadMqtt(): typeof import('mqtt') {
  return requireCjs('mqtt') as typeof import('mqtt');
}

export interface MqttEndpoint {
  readonly url: string;
  readonly display: string;
  readonly options: IClientOptions;
  readonly clientId: string;
  readonly version: 4 | 5;
}

export interface MqttConnectionValues {
  url: string | undefined;
  clientId: string | undefined;
  username: string | undefined;
  password: string | undefined;
  mqttVersion: '5' | '3.1.1';
  clean: boolean;
  showSecrets: boolean;
}

/** --url, else MQTT_URL, else the local broker; validated (exit 2 on a bad one). */
export function mqttEndpoint(
  values: MqttConnectionValues,
  tls: TlsMaterial,
  connectTimeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): MqttEndpoint {
  const text = values.url ?? (env.MQTT_URL || DEFAULT_MQTT_URL);
  const from = values.url !== undefined ? '--url' : env.MQTT_URL ? 'MQTT_URL' : 'default';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`invalid ${from} '${redactUrl(text)}'`, {
      hint: 'write mqtt://host:1883 (mqtts:// for TLS)',
    });
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:')
    throw new UsageError(`unsupported scheme '${url.protocol}' in ${from} '${redactUrl(text)}'`, {
      hint: 'use mqtt:// or mqtts://',
    });
  if (!url.hostname) throw new UsageError(`invalid ${from} '${redactUrl(text)}': no host`);
  if (url.pathname !== '' && url.pathname !== '/')
    throw new UsageError(`invalid ${from} '${redactUrl(text)}': an MQTT URL has no path`);
  if (url.protocol === 'mqtt:' && (tls.ca || tls.cert || tls.insecure))
    throw new UsageError('TLS options need an mqtts:// URL');
  const clientId = values.clientId ?? `comms-cli-${randomBytes(6).toString('hex')}`;
  if (!values.clean && values.clientId === undefined)
    throw new UsageError('--no-clean needs --client-id (a persistent session is found by its client id)');
  const username = values.username ?? (url.username ? decodeURIComponent(url.username) : undefined);
  const password =
    values.password ?? env.MQTT_PASSWORD ?? (url.password ? decodeURIComponent(url.password) : undefined);
  const version = values.mqttVersion === '5' ? 5 : 4;
  const options: IClientOptions = {
    protocolVersion: version,
    clientId,
    clean: values.clean,
    reconnectPeriod: 0,
    connectTimeout: connectTimeoutMs > 0 && Number.isFinite(connectTimeoutMs) ? connectTimeoutMs : 10_000,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(version === 5 && !values.clean ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    ...(tls.ca ? { ca: tls.ca } : {}),
    ...(tls.cert ? { cert: tls.cert } : {}),
    ...(tls.key ? { key: tls.key } : {}),
    ...(tls.insecure ? { rejectUnauthorized: false } : {}),
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
  url.username = '';
  url.password = '';
  const bare = url.toString().replace(/\/$/, '');
  return { url: bare, display: bare, options, clientId, version };
}

/** Connect (mqtt.js loads here, on first use); a refused CONNACK or socket error is typed. */
export async function connectMqtt(
  endpoint: MqttEndpoint,
  signal?: AbortSignal,
  prepare?: (client: MqttClient) => void,
): Promise<MqttClient> {
  const mqtt = loadMqtt();
  const client = mqtt.connect(endpoint.url, endpoint.options);
  // Before CONNACK: a resumed session's queued messages arrive right after it.
  prepare?.(client);
  const ready = new Promise<MqttClient>((resolve, reject) => {
    const fail = (err: unknown) => {
      client.removeListener('connect', ok);
      client.end(true);
      reject(mqttError(err, endpoint.display, 'connect'));
    };
    const ok = () => {
      client.removeAllListeners('close');
      client.removeListener('error', fail);
      client.on('error', () => undefined);
      resolve(client);
    };
    client.once('connect', ok);
    client.once('error', fail);
    // A broker that never sends CONNACK: mqtt.js closes the socket at connectTimeout without an error.
    client.once('close', () => fail(new Error(`connection closed before CONNACK`)));
  });
  try {
    return await raceSignal(ready, signal);
  } catch (err) {
    client.end(true);
    throw err;
  }
}

export async function closeMqtt(client: MqttClient | undefined): Promise<void> {
  if (!client) return;
  await client.endAsync().catch(() => undefined);
}
