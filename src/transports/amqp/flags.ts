import { CALL_OPTIONS } from '../../command/call-options.js';
import { EXPECT_OPTIONS, EXPECT_STREAM_OPTIONS } from '../../command/expect-options.js';
import { choice, duration, flag, integer, list, type OptionValues, text } from '../../command/option.js';
import { responderOptions } from '../../command/responder-options.js';
import { OUTPUT_OPTIONS } from '../../command/shared-options.js';
import { TLS_OPTIONS } from '../../command/tls-options.js';

/** The broker every `comms-cli amqp` command talks to unless --url or AMQP_URL says otherwise. */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672/';

/** Connection options of every amqp command: the URL (credentials inside, redacted) and TLS for amqps://. */
export const AMQP_CONNECTION_OPTIONS = {
  url: text(
    '--url <url>',
    `broker URL amqp[s]://user:pass@host:port/vhost (env AMQP_URL; default ${DEFAULT_AMQP_URL})`,
    {
      secret: true,
    },
  ),
  ...TLS_OPTIONS,
};

/** --declare and its shape: never on by default, so a typo in a name is a 404, not a new queue. */
export const DECLARE_OPTIONS = {
  declare: flag('--declare', 'declare the queue (or with -r/--routing-key the exchange) first'),
  durable: flag('--durable', 'with --declare: survives a broker restart'),
  exclusive: flag('--exclusive', 'with --declare: a queue only this connection uses'),
  autoDelete: flag('--auto-delete', 'with --declare: deleted when its last consumer (or binding) goes'),
  exchangeType: choice('--exchange-type <type>', 'with --declare and -r: the exchange type', [
    'direct',
    'fanout',
    'topic',
    'headers',
  ] as const),
};

/** The message a publish or request sends: payload, headers and properties (templates allowed). */
const MESSAGE_OPTIONS = {
  routingKey: text(
    '-r, --routing-key <key>',
    'the positional is an exchange and this the routing key (without it, the positional is a queue)',
  ),
  data: text('-d, --data <data>', 'payload: text, @file, or @- for stdin'),
  header: list('-H, --header <header>', "message header 'Name: value' (repeatable; templates allowed)", {
    mapSyntax: ': ',
  }),
  contentType: text('--content-type <type>', 'content-type property'),
  correlationId: text('--correlation-id <id>', 'correlation-id property (templates allowed)'),
  messageId: text('--message-id <id>', 'message-id property (templates allowed)'),
  persistent: flag('--persistent', 'delivery mode 2: a durable queue keeps it across a broker restart'),
  expiration: duration('--expiration <dur>', 'per-message TTL'),
  priority: integer('--priority <n>', 'priority property (0-255)', { max: 255 }),
};

export const PUBLISH_OPTIONS = {
  ...MESSAGE_OPTIONS,
  lines: flag('--lines', 'send each line of stdin as one message (streamed)'),
  count: integer('--count <n>', 'publish n messages; {{seq}} counts from 1', { min: 1, default: 1 }),
  mandatory: flag('--mandatory', 'an unroutable message is a failure (exit 3, with the broker reason)'),
  confirm: flag('--no-confirm', 'do not wait for publisher confirms (published = written to the socket)'),
  ...DECLARE_OPTIONS,
  ...AMQP_CONNECTION_OPTIONS,
  ...CALL_OPTIONS,
};
export type PublishValues = OptionValues<typeof PUBLISH_OPTIONS>;

export const CONSUME_OPTIONS = {
  count: integer('--count <n>', 'exit 0 after n messages', { min: 1 }),
  timeout: duration(
    '--timeout <dur>',
    'exit 4 unless the expected messages (--count, or at least one) arrive within this time',
  ),
  prefetch: integer('--prefetch <n>', 'unacknowledged messages the broker may send ahead (0: no limit)', {
    default: 10,
  }),
  ack: flag('--no-ack', 'the broker forgets a message as soon as it is sent (no acknowledgement)'),
  nack: flag('--nack', 'reject each message after printing it (dead-lettered or dropped, not requeued)'),
  requeueOnFail: flag(
    '--requeue-on-fail',
    'a message that could not be written to stdout is requeued at once (nack with requeue)',
  ),
  bind: list('--bind <exchange:key>', "with queue '-': bind a private auto-delete queue (repeatable)"),
  raw: flag('--raw', 'print payloads only, one per line'),
  ...DECLARE_OPTIONS,
  ...AMQP_CONNECTION_OPTIONS,
  ...EXPECT_STREAM_OPTIONS,
  ...OUTPUT_OPTIONS,
};
export type ConsumeValues = OptionValues<typeof CONSUME_OPTIONS>;

export const REQUEST_OPTIONS = {
  ...MESSAGE_OPTIONS,
  raw: flag('--raw', 'print the reply payload only (no trailing newline added)'),
  ...AMQP_CONNECTION_OPTIONS,
  ...EXPECT_OPTIONS,
  ...CALL_OPTIONS,
};
export type RequestValues = OptionValues<typeof REQUEST_OPTIONS>;

export const REPLY_OPTIONS = {
  ...responderOptions('AMQP_QUEUE, AMQP_ROUTING_KEY, AMQP_CORRELATION_ID'),
  prefetch: integer('--prefetch <n>', 'requests handled at once', { default: 10, min: 1 }),
  ...DECLARE_OPTIONS,
  ...AMQP_CONNECTION_OPTIONS,
  ...OUTPUT_OPTIONS,
};
export type ReplyValues = OptionValues<typeof REPLY_OPTIONS>;
