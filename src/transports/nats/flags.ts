import { CALL_OPTIONS } from '../../command/call-options.js';
import { EXPECT_OPTIONS, EXPECT_STREAM_OPTIONS } from '../../command/expect-options.js';
import { duration, flag, fraction, integer, list, type OptionValues, text } from '../../command/option.js';
import { OUTPUT_OPTIONS } from '../../command/shared-options.js';
import { TRACE_OPTIONS } from '../../command/trace.js';
import { NATS_CONNECTION_OPTIONS } from './connection-options.js';

/**
 * The `comms-cli nats` options, declared once: --help, the docs, check-file steps and the runners read
 * these tables. Call commands (publish, request) take CALL_OPTIONS (resilience, load, output); the
 * long-running ones (subscribe, reply) take only the output options. All take the connection table.
 */

const header = (what: string) =>
  list('-H, --header <header>', `${what} header 'Name: value' (repeatable; templates allowed)`, {
    mapSyntax: ': ',
  });
const data = text('-d, --data <text|@file|@->', 'payload: text, @file, or @- for stdin');
const dataRaw = text(
  '--data-raw <text>',
  "payload exactly as given: a leading '@' is sent, not read as a file (as curl --data-raw)",
);

export const PUBLISH_OPTIONS = {
  data,
  dataRaw,
  lines: flag('--lines', 'send each line of stdin as one message (streamed)'),
  header: header('message'),
  count: integer('--count <n>', 'publish n messages; {{seq}} counts from 1', { min: 1, default: 1 }),
  replyTo: text('--reply-to <subject>', 'reply subject to set on the message(s)'),
  jetstream: flag(
    '--jetstream',
    'publish to JetStream and wait for the acknowledgement (stream and sequence)',
  ),
  stream: text(
    '--stream <name>',
    'with --jetstream: create this stream over the subject when it does not exist',
  ),
  msgId: text(
    '--msg-id <id|auto>',
    'with --jetstream: Nats-Msg-Id for duplicate suppression (templates, or auto = a uuid per message)',
  ),
  expectStream: text(
    '--expect-stream <name>',
    'with --jetstream: fail unless the message lands in this stream',
  ),
  ...TRACE_OPTIONS,
  ...CALL_OPTIONS,
  ...NATS_CONNECTION_OPTIONS,
};
export type PublishValues = OptionValues<typeof PUBLISH_OPTIONS>;

export const SUBSCRIBE_OPTIONS = {
  queue: text('--queue <group>', 'join a queue group: each message goes to one member'),
  count: integer('--count <n>', 'exit 0 after n messages', { min: 1 }),
  timeout: duration(
    '--timeout <dur>',
    'exit 4 unless the expected messages (--count, or at least one) arrive within this time',
  ),
  raw: flag('--raw', 'print payloads only, one per line'),
  jetstream: flag(
    '--jetstream',
    'consume from a JetStream stream (--stream, or the one storing the subject)',
  ),
  stream: text(
    '--stream <name>',
    'with --jetstream: the stream to read (default: the stream that stores the subject)',
  ),
  durable: text(
    '--durable <name>',
    'with --jetstream: a durable consumer, created if needed; resumes where it left off',
  ),
  deliver: text('--deliver <policy>', 'with --jetstream: all | new | last | seq:N | since:DUR', {
    default: 'all',
  }),
  ack: flag('--no-ack', 'with --jetstream: do not acknowledge messages (leave them for redelivery)'),
  ackWait: duration(
    '--ack-wait <dur>',
    'with --durable: redeliver an unacknowledged message after this long',
    { default: 30_000 },
  ),
  ...EXPECT_STREAM_OPTIONS,
  ...OUTPUT_OPTIONS,
  ...NATS_CONNECTION_OPTIONS,
};
export type SubscribeValues = OptionValues<typeof SUBSCRIBE_OPTIONS>;

export const REQUEST_OPTIONS = {
  data,
  dataRaw,
  header: header('request'),
  raw: flag('--raw', 'print the reply payload only (no trailing newline added)'),
  replies: integer(
    '--replies <n>',
    'scatter-gather: wait for n replies (or --timeout), print each; exit 4 naming the count when fewer came',
    { min: 1 },
  ),
  ...EXPECT_OPTIONS,
  ...TRACE_OPTIONS,
  ...CALL_OPTIONS,
  ...NATS_CONNECTION_OPTIONS,
};
export type RequestValues = OptionValues<typeof REQUEST_OPTIONS>;

/** How long an --exec command may run when --exec-timeout is not given. */
export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;

export const REPLY_OPTIONS = {
  queue: text('--queue <group>', 'queue group (several responders share the load)'),
  count: integer('--count <n>', 'exit 0 after answering n requests', { min: 1 }),
  body: text('--body <text|@file>', 'reply with this body instead of echoing the request'),
  exec: text(
    '--exec <command>',
    'run a shell command per request: the request payload on its stdin, its stdout is the reply ' +
      '(env NATS_SUBJECT, NATS_SUBSCRIPTION, NATS_REPLY_SUBJECT)',
  ),
  // No table default: giving --exec-timeout without --exec is a usage error, so absence must show.
  execTimeout: duration(
    '--exec-timeout <dur>',
    'kill an --exec command running longer than this and reply with error 504 (default 30s)',
  ),
  header: header('reply'),
  delay: duration('--delay <dur>', 'wait this long before replying'),
  failRate: fraction('--fail-rate <p>', 'drop this fraction of requests without replying (0.3 or 30%)'),
  failFirst: integer('--fail-first <n>', 'drop the first n requests without replying (deterministic faults)'),
  raw: flag('--raw', 'print request payloads only'),
  ...OUTPUT_OPTIONS,
  ...NATS_CONNECTION_OPTIONS,
};
export type ReplyValues = OptionValues<typeof REPLY_OPTIONS>;
