import { type Command, Option } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { NATS_CONNECTION_OPTIONS } from '../../transports/nats/connection-options.js';
import { addCallOptions, addOptions, OUTPUT_OPTIONS } from '../options.js';

/**
 * `comms-cli nats publish|subscribe|request|reply`, and the top-level aliases `publish`, `subscribe`,
 * `request`. This file only declares arguments and options: every action imports its NATS module
 * lazily, so `comms-cli http ...` never loads @nats-io code.
 */
export function registerNats(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  const nats = program
    .command('nats')
    .description(
      'NATS: publish, subscribe, request and reply (core and JetStream), with retries, timing and load',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats reply svc.echo &                    # a responder for testing
  $ comms-cli nats request svc.echo 'hello' --retries 3 --timeout 500ms
  $ comms-cli nats subscribe 'orders.>' --count 10 --json

Connection: -s/--server or NATS_URL (default nats://127.0.0.1:4222).
Exit codes: 0 ok, 1 failed, 2 usage, 3 unreachable/no responders/auth, 4 timeout, 5 breaker open, 130 interrupted.`,
    );
  const subs = [
    definePublish(nats.command('publish'), ctx, setExit),
    defineSubscribe(nats.command('subscribe').alias('sub'), ctx, setExit),
    defineRequest(nats.command('request').alias('req'), ctx, setExit),
    defineReply(nats.command('reply'), ctx, setExit),
  ];
  void subs;
  definePublish(program.command('publish'), ctx, setExit).description('alias of `nats publish`');
  defineSubscribe(program.command('subscribe'), ctx, setExit).description('alias of `nats subscribe`');
  defineRequest(program.command('request'), ctx, setExit).description('alias of `nats request`');
}

/** Flags of publish; commander's camelCase of each option. */
export interface PublishFlags {
  data?: string;
  lines?: boolean;
  header?: string[];
  count?: string;
  replyTo?: string;
  jetstream?: boolean;
  stream?: string;
  msgId?: string;
  expectStream?: string;
}

export interface SubscribeFlags {
  queue?: string;
  count?: string;
  timeout?: string;
  raw?: boolean;
  jetstream?: boolean;
  stream?: string;
  durable?: string;
  deliver?: string;
  ack?: boolean;
  ackWait?: string;
}

export interface RequestFlags {
  data?: string;
  header?: string[];
  raw?: boolean;
}

export interface ReplyFlags {
  queue?: string;
  count?: string;
  body?: string;
  exec?: string;
  execTimeout?: string;
  header?: string[];
  delay?: string;
  failRate?: string;
  failFirst?: string;
  raw?: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function headerOption(what: string): Option {
  return new Option(
    '-H, --header <header>',
    `${what} header 'Name: value' (repeatable; templates allowed)`,
  ).argParser(collect);
}

function withConnection(cmd: Command): Command {
  return addOptions(cmd, NATS_CONNECTION_OPTIONS);
}

function definePublish(cmd: Command, ctx: CommandContext, setExit: (code: number) => void): Command {
  cmd
    .description('publish messages to a subject (core, or JetStream with an acknowledgement)')
    .argument('<subject>', 'subject to publish to (no wildcards); templates like orders.{{seq}} allowed')
    .argument('[payload]', 'message payload (or -d); empty when neither is given')
    .option('-d, --data <text|@file|@->', 'payload: text, @file, or @- for stdin')
    .option('--lines', 'send each line of stdin as one message (streamed)')
    .addOption(headerOption('message'))
    .option('--count <n>', 'publish n messages; {{seq}} counts from 1', '1')
    .option('--reply-to <subject>', 'reply subject to set on the message(s)')
    .option('--jetstream', 'publish to JetStream and wait for the acknowledgement (stream and sequence)')
    .option('--stream <name>', 'with --jetstream: create this stream over the subject when it does not exist')
    .option(
      '--msg-id <id|auto>',
      'with --jetstream: Nats-Msg-Id for duplicate suppression (templates, or auto = a uuid per message)',
    )
    .option('--expect-stream <name>', 'with --jetstream: fail unless the message lands in this stream')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats publish orders.created '{"id":1}' -H 'Trace-Id: abc'
  $ comms-cli nats publish 'orders.{{seq}}' 'order {{seq}}' --count 1000
  $ comms-cli nats publish orders.created @order.json --jetstream --stream ORDERS --msg-id auto --retries 3
  $ tail -f app.log | comms-cli publish logs.app --lines`,
    );
  addCallOptions(cmd);
  withConnection(cmd);
  return cmd.action(async (subject: string, payload: string | undefined, _flags: unknown, self: Command) => {
    const { runPublish } = await import('../../transports/nats/publish.js');
    setExit(await runPublish(subject, payload, self.opts(), ctx));
  });
}

function defineSubscribe(cmd: Command, ctx: CommandContext, setExit: (code: number) => void): Command {
  cmd
    .description('print messages on a subject as they arrive (core, or a JetStream consumer)')
    .argument('<subject>', "subject to listen on; wildcards '*' (one token) and '>' (the rest) allowed")
    .option('--queue <group>', 'join a queue group: each message goes to one member')
    .option('--count <n>', 'exit 0 after n messages')
    .option(
      '--timeout <dur>',
      'exit 4 unless the expected messages (--count, or at least one) arrive within this time',
    )
    .option('--raw', 'print payloads only, one per line')
    .option('--jetstream', 'consume from a JetStream stream (needs --stream)')
    .option('--stream <name>', 'with --jetstream: the stream to read')
    .option(
      '--durable <name>',
      'with --jetstream: a durable consumer, created if needed; resumes where it left off',
    )
    .option('--deliver <policy>', 'with --jetstream: all | new | last | seq:N | since:DUR', 'all')
    .option('--no-ack', 'with --jetstream: do not acknowledge messages (leave them for redelivery)')
    .option('--ack-wait <dur>', 'with --durable: redeliver an unacknowledged message after this long', '30s')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats subscribe 'orders.>' --count 10 --timeout 5s
  $ comms-cli subscribe jobs.run --queue workers --json | jq .data
  $ comms-cli nats subscribe orders.created --jetstream --stream ORDERS --durable audit --deliver all`,
    );
  addOptions(cmd, OUTPUT_OPTIONS);
  withConnection(cmd);
  return cmd.action(async (subject: string, _flags: unknown, self: Command) => {
    const { runSubscribe } = await import('../../transports/nats/subscribe.js');
    setExit(await runSubscribe(subject, self.opts(), ctx));
  });
}

function defineRequest(cmd: Command, ctx: CommandContext, setExit: (code: number) => void): Command {
  cmd
    .description('send a request and print the reply (retries on timeout and no responders)')
    .argument('<subject>', 'subject a responder listens on')
    .argument('[payload]', 'request payload (or -d)')
    .option('-d, --data <text|@file|@->', 'payload: text, @file, or @- for stdin')
    .addOption(headerOption('request'))
    .option('--raw', 'print the reply payload only (no trailing newline added)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats request svc.echo 'ping' --timeout 500ms --retries 3
  $ comms-cli request inventory.get '{"sku":"A1"}' --json | jq .data
  $ comms-cli nats request svc.echo 'load {{seq}}' -n 10000 -c 50 --expect-p99 20ms`,
    );
  addCallOptions(cmd);
  withConnection(cmd);
  return cmd.action(async (subject: string, payload: string | undefined, _flags: unknown, self: Command) => {
    const { runRequest } = await import('../../transports/nats/request.js');
    setExit(await runRequest(subject, payload, self.opts(), ctx));
  });
}

function defineReply(cmd: Command, ctx: CommandContext, setExit: (code: number) => void): Command {
  cmd
    .description(
      'answer requests on a subject, for testing: echo, a fixed body, or a command; with injected faults',
    )
    .argument('<subject>', 'subject to answer on (wildcards allowed)')
    .option('--queue <group>', 'queue group (several responders share the load)')
    .option('--count <n>', 'exit 0 after answering n requests')
    .option('--body <text|@file>', 'reply with this body instead of echoing the request')
    .option(
      '--exec <command>',
      'run a shell command per request: the request payload on its stdin, its stdout is the reply ' +
        '(env NATS_SUBJECT, NATS_SUBSCRIPTION, NATS_REPLY_SUBJECT)',
    )
    .option(
      '--exec-timeout <dur>',
      'kill an --exec command running longer than this and reply with error 504 (default 30s)',
    )
    .addOption(headerOption('reply'))
    .option('--delay <dur>', 'wait this long before replying')
    .option('--fail-rate <p>', 'drop this fraction of requests without replying (0.3 or 30%)')
    .option('--fail-first <n>', 'drop the first n requests without replying (deterministic faults)')
    .option('--raw', 'print request payloads only')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats reply svc.echo                               # echo payload and headers
  $ comms-cli nats reply svc.time --exec 'date -u +%FT%TZ' --queue timers --exec-timeout 2s
  $ comms-cli nats reply svc.flaky --fail-rate 50% --delay 20ms  # watch retries and the breaker`,
    );
  addOptions(cmd, OUTPUT_OPTIONS);
  withConnection(cmd);
  return cmd.action(async (subject: string, _flags: unknown, self: Command) => {
    const { runReply } = await import('../../transports/nats/reply.js');
    setExit(await runReply(subject, self.opts(), ctx));
  });
}
