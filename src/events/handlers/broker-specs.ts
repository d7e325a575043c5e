import { UsageError } from '../../errors/comms-error.js';
import { redactUrl } from '../../output/redact.js';
import { amqpEndpoint, checkShortString } from '../../transports/amqp/connection.js';
import { mqttEndpoint } from '../../transports/mqtt/connection.js';
import { validateTopic } from '../../transports/mqtt/topic.js';

/*
 * `--to amqp://…` and `--to mqtt://…`, checked in full before the store is opened: a bad handler URL
 * is exit 2 and nothing is sent. Only the shape is read here; amqplib and mqtt.js load when the
 * handler is created. The broker URLs go through the same endpoint checks as `amqp` and `mqtt`
 * commands.
 */

/** `amqp[s]://user:pass@host:port/vhost?queue=Q` or `?exchange=X&routing-key=K`; `mandatory=false`. */
export interface AmqpHandlerSpec {
  scheme: 'amqp';
  /** The broker URL handed to amqplib: the handler's own query parameters removed. */
  url: string;
  exchange: string;
  routingKey: string;
  /** An unroutable event is not handled (basic.return): default on. */
  mandatory: boolean;
  /** Queue (`?queue=`) or exchange that must exist: checked passively before the first event. */
  check: { kind: 'queue' | 'exchange'; name: string };
  target: string;
}

/** `mqtt[s]://user:pass@host:port/TOPIC?qos=1|2&mandatory=false`. */
export interface MqttHandlerSpec {
  scheme: 'mqtt';
  /** The broker URL (no path, no query). */
  url: string;
  topic: string;
  qos: 1 | 2;
  /** A PUBACK saying "No matching subscribers" (MQTT 5 reason 16) means not handled: default on. */
  mandatory: boolean;
  target: string;
}

/** amqplib reads these from the URL's query itself; they are passed through. */
const AMQPLIB_PARAMS = new Set(['heartbeat', 'frameMax', 'channelMax', 'locale']);

function parseUrl(to: string, hint: string): URL {
  try {
    return new URL(to);
  } catch {
    throw new UsageError(`invalid --to URL '${redactUrl(to)}'`, { hint });
  }
}

function bool(value: string, name: string, to: string): boolean {
  if (value === 'true' || value === '1' || value === '') return true;
  if (value === 'false' || value === '0') return false;
  throw new UsageError(`invalid ${name}=${value} in --to '${redactUrl(to)}': expected true or false`);
}

/** One value per handler parameter: `?queue=a&queue=b` is a mistake, not a choice. */
function single(url: URL, name: string, to: string): string | undefined {
  const all = url.searchParams.getAll(name);
  if (all.length > 1) throw new UsageError(`--to '${redactUrl(to)}' gives ${name} more than once`);
  return all[0];
}

const AMQP_HINT =
  'write amqp://user:pass@host:5672/vhost?queue=NAME or amqp://…?exchange=NAME&routing-key=KEY';

export function parseAmqpTo(to: string): AmqpHandlerSpec {
  const url = parseUrl(to, AMQP_HINT);
  const shown = redactUrl(to);
  if (url.hash !== '') throw new UsageError(`invalid --to URL '${shown}': no #fragment`, { hint: AMQP_HINT });
  for (const key of url.searchParams.keys())
    if (!['queue', 'exchange', 'routing-key', 'mandatory'].includes(key) && !AMQPLIB_PARAMS.has(key))
      throw new UsageError(`unknown parameter '${key}' in --to '${shown}'`, {
        hint: 'amqp handler parameters: queue, exchange, routing-key, mandatory',
      });
  const queue = single(url, 'queue', to);
  const exchange = single(url, 'exchange', to);
  const routingKey = single(url, 'routing-key', to);
  const mandatoryText = single(url, 'mandatory', to);
  if ((queue === undefined) === (exchange === undefined) || queue === '' || exchange === '')
    throw new UsageError(`--to '${shown}' needs either ?queue=NAME or ?exchange=NAME`, { hint: AMQP_HINT });
  if (queue !== undefined && routingKey !== undefined)
    throw new UsageError(`--to '${shown}': routing-key goes with exchange (a queue is its own routing key)`, {
      hint: AMQP_HINT,
    });
  if (queue !== undefined) checkShortString(queue, 'queue name');
  if (exchange !== undefined) checkShortString(exchange, 'exchange name');
  if (routingKey !== undefined) checkShortString(routingKey, 'routing key');
  const mandatory = mandatoryText === undefined ? true : bool(mandatoryText, 'mandatory', to);
  const broker = new URL(url.href);
  for (const key of ['queue', 'exchange', 'routing-key', 'mandatory']) broker.searchParams.delete(key);
  const brokerUrl = broker.href.replace(/\?$/, '');
  // The same checks as `amqp --url` (scheme, host; amqps:// uses the system CAs here).
  amqpEndpoint(brokerUrl, { insecure: false }, { showSecrets: false, connectTimeoutMs: 0 });
  return {
    scheme: 'amqp',
    url: brokerUrl,
    exchange: exchange ?? '',
    routingKey: queue ?? routingKey ?? '',
    mandatory,
    check: queue !== undefined ? { kind: 'queue', name: queue } : { kind: 'exchange', name: exchange ?? '' },
    target: shown,
  };
}

const MQTT_HINT = 'write mqtt://user:pass@host:1883/TOPIC (?qos=1 or 2)';

export function parseMqttTo(to: string): MqttHandlerSpec {
  const url = parseUrl(to, MQTT_HINT);
  const shown = redactUrl(to);
  // `#` starts a URL fragment, so a topic filter cannot be written here; a handler publishes anyway.
  if (url.hash !== '' || to.includes('#'))
    throw new UsageError(`invalid --to '${shown}': an MQTT handler publishes to one topic (no '#')`, {
      hint: MQTT_HINT,
    });
  for (const key of url.searchParams.keys())
    if (!['qos', 'mandatory'].includes(key))
      throw new UsageError(`unknown parameter '${key}' in --to '${shown}'`, {
        hint: 'mqtt handler parameters: qos (1 or 2), mandatory',
      });
  const qosText = single(url, 'qos', to) ?? '1';
  if (qosText !== '1' && qosText !== '2')
    throw new UsageError(
      `invalid qos=${qosText} in --to '${shown}': 1 or 2 (QoS 0 has no acknowledgement, so no delivery could be confirmed)`,
    );
  const mandatoryText = single(url, 'mandatory', to);
  const mandatory = mandatoryText === undefined ? true : bool(mandatoryText, 'mandatory', to);
  let topic: string;
  try {
    topic = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    throw new UsageError(`invalid --to '${shown}': the topic is not valid percent-encoding`);
  }
  if (topic === '') throw new UsageError(`--to '${shown}' names no topic`, { hint: MQTT_HINT });
  validateTopic(topic, { filter: false, flag: '--to topic' });
  const broker = new URL(url.href);
  broker.pathname = '';
  broker.search = '';
  const brokerUrl = broker.href.replace(/\/$/, '');
  mqttEndpoint(mqttValues(brokerUrl), { insecure: false }, 0);
  return { scheme: 'mqtt', url: brokerUrl, topic, qos: qosText === '1' ? 1 : 2, mandatory, target: shown };
}

/** The connection values of an MQTT handler: MQTT 5, a clean session, a random client id. */
export function mqttValues(url: string) {
  return {
    url,
    clientId: undefined,
    username: undefined,
    password: undefined,
    mqttVersion: '5' as const,
    clean: true,
    showSecrets: false,
  };
}
