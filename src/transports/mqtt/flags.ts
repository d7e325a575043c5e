import { CALL_OPTIONS } from '../../command/call-options.js';
import { EXPECT_OPTIONS, EXPECT_STREAM_OPTIONS } from '../../command/expect-options.js';
import { choice, duration, flag, integer, list, type OptionValues, text } from '../../command/option.js';
import { responderOptions } from '../../command/responder-options.js';
import { OUTPUT_OPTIONS } from '../../command/shared-options.js';
import { TLS_OPTIONS } from '../../command/tls-options.js';
import { UsageError } from '../../errors/comms-error.js';

/** The broker every `comms-cli mqtt` command talks to unless --url or MQTT_URL says otherwise. */
export const DEFAULT_MQTT_URL = 'mqtt://127.0.0.1:1883';

/** A QoS level as a number (the flag takes 0, 1 or 2; anything else is exit 2). */
function qos(flags: string, help: string) {
  const entry = choice(flags, help, ['0', '1', '2'] as const, { default: '0' });
  return entry;
}

export function qosLevel(text: '0' | '1' | '2'): 0 | 1 | 2 {
  const n = Number(text);
  if (n !== 0 && n !== 1 && n !== 2) throw new UsageError(`invalid --qos '${text}': expected 0, 1 or 2`);
  return n;
}

/** Connection options of every mqtt command. */
export const MQTT_CONNECTION_OPTIONS = {
  url: text('--url <url>', `broker URL mqtt[s]://host:port (env MQTT_URL; default ${DEFAULT_MQTT_URL})`, {
    secret: true,
  }),
  clientId: text('--client-id <id>', 'MQTT client identifier (default: comms-cli-<random>)'),
  username: text('--username <name>', 'user name for the broker'),
  password: text('--password <password>', 'password for the broker (env MQTT_PASSWORD)', { secret: true }),
  mqttVersion: choice('--mqtt-version <v>', 'protocol version', ['5', '3.1.1'] as const, { default: '5' }),
  clean: flag('--no-clean', 'a persistent session (resume it with the same --client-id)'),
  ...TLS_OPTIONS,
};

const MESSAGE_OPTIONS = {
  data: text('-d, --data <data>', 'payload: text, @file, or @- for stdin'),
  header: list(
    '-H, --header <header>',
    "MQTT 5 user property 'Name: value' (repeatable; templates allowed)",
    {
      mapSyntax: ': ',
    },
  ),
  qos: qos('--qos <level>', 'quality of service 0, 1 or 2 (1 and 2 are acknowledged by the broker)'),
  contentType: text('--content-type <type>', 'MQTT 5 content type'),
};

export const PUBLISH_OPTIONS = {
  ...MESSAGE_OPTIONS,
  retain: flag('--retain', 'the broker keeps the last message for new subscribers'),
  lines: flag('--lines', 'send each line of stdin as one message (streamed)'),
  count: integer('--count <n>', 'publish n messages; {{seq}} counts from 1', { min: 1, default: 1 }),
  ...MQTT_CONNECTION_OPTIONS,
  ...CALL_OPTIONS,
};
export type PublishValues = OptionValues<typeof PUBLISH_OPTIONS>;

export const SUBSCRIBE_OPTIONS = {
  qos: qos('--qos <level>', 'maximum quality of service to receive at'),
  count: integer('--count <n>', 'exit 0 after n messages', { min: 1 }),
  timeout: duration(
    '--timeout <dur>',
    'exit 4 unless the expected messages (--count, or at least one) arrive within this time',
  ),
  retained: flag('--no-retained', 'skip retained messages (only those published from now on)'),
  raw: flag('--raw', 'print payloads only, one per line'),
  ...MQTT_CONNECTION_OPTIONS,
  ...EXPECT_STREAM_OPTIONS,
  ...OUTPUT_OPTIONS,
};
export type SubscribeValues = OptionValues<typeof SUBSCRIBE_OPTIONS>;

export const REQUEST_OPTIONS = {
  ...MESSAGE_OPTIONS,
  responseTopic: text(
    '--response-topic <topic>',
    'where the reply is expected (default: comms-cli/reply/<client id>)',
  ),
  raw: flag('--raw', 'print the reply payload only (no trailing newline added)'),
  ...MQTT_CONNECTION_OPTIONS,
  ...EXPECT_OPTIONS,
  ...CALL_OPTIONS,
};
export type RequestValues = OptionValues<typeof REQUEST_OPTIONS>;

export const REPLY_OPTIONS = {
  qos: qos('--qos <level>', 'quality of service of the subscription and of the replies'),
  ...responderOptions('MQTT_TOPIC, MQTT_RESPONSE_TOPIC, MQTT_CORRELATION_DATA'),
  ...MQTT_CONNECTION_OPTIONS,
  ...OUTPUT_OPTIONS,
};
export type ReplyValues = OptionValues<typeof REPLY_OPTIONS>;
