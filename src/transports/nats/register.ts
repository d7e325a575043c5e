import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import { PUBLISH_OPTIONS, REPLY_OPTIONS, REQUEST_OPTIONS, SUBSCRIBE_OPTIONS } from './flags.js';

/**
 * `comms-cli nats publish|subscribe|request|reply` (aliases `pub`, `sub`, `req`), and the top-level
 * aliases `publish`, `subscribe`, `request`. Declarations only: the option tables are read into typed
 * values here, at the edge, and each runner (with @nats-io) is imported only when its command runs,
 * so `comms-cli http ...` never loads NATS code.
 */
export function register(program: Command, ctx: CommandContext): void {
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
  definePublish(nats.command('publish').alias('pub'), ctx);
  defineSubscribe(nats.command('subscribe').alias('sub'), ctx);
  defineRequest(nats.command('request').alias('req'), ctx);
  defineReply(nats.command('reply'), ctx);
  definePublish(program.command('publish'), ctx).description('alias of `nats publish`');
  defineSubscribe(program.command('subscribe'), ctx).description('alias of `nats subscribe`');
  defineRequest(program.command('request'), ctx).description('alias of `nats request`');
}

function definePublish(cmd: Command, ctx: CommandContext): Command {
  cmd
    .description('publish messages to a subject (core, or JetStream with an acknowledgement)')
    .argument('<subject>', 'subject to publish to (no wildcards); templates like orders.{{seq}} allowed')
    .argument('[payload]', 'message payload (or -d); empty when neither is given')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats publish orders.created '{"id":1}' -H 'Trace-Id: abc'
  $ comms-cli nats publish 'orders.{{seq}}' 'order {{seq}}' --count 1000
  $ comms-cli nats publish orders.created @order.json --jetstream --stream ORDERS --msg-id auto --retries 3
  $ tail -f app.log | comms-cli publish logs.app --lines`,
    )
    .action(async (subject: string, payload: string | undefined, _opts: unknown, self: Command) => {
      const { publishPlanFrom, runPublish } = await import('./commands/publish.js');
      const plan = publishPlanFrom(subject, payload, readOptions(PUBLISH_OPTIONS, self.opts()), {
        timeoutGiven: self.getOptionValueSource('timeout') !== 'default',
      });
      ctx.setExit(await runPublish(plan, ctx));
    });
  return addOptions(cmd, PUBLISH_OPTIONS);
}

function defineSubscribe(cmd: Command, ctx: CommandContext): Command {
  cmd
    .description('print messages on a subject as they arrive (core, or a JetStream consumer)')
    .argument('<subject>', "subject to listen on; wildcards '*' (one token) and '>' (the rest) allowed")
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats subscribe 'orders.>' --count 10 --timeout 5s
  $ comms-cli subscribe jobs.run --queue workers --json | jq .data
  $ comms-cli nats subscribe orders.created --jetstream --stream ORDERS --durable audit --deliver all`,
    )
    .action(async (subject: string, _opts: unknown, self: Command) => {
      const { subscribePlanFrom, runSubscribe } = await import('./commands/subscribe.js');
      const plan = subscribePlanFrom(subject, readOptions(SUBSCRIBE_OPTIONS, self.opts()));
      ctx.setExit(await runSubscribe(plan, ctx));
    });
  return addOptions(cmd, SUBSCRIBE_OPTIONS);
}

function defineRequest(cmd: Command, ctx: CommandContext): Command {
  cmd
    .description('send a request and print the reply (retries on timeout and no responders)')
    .argument('<subject>', 'subject a responder listens on')
    .argument('[payload]', 'request payload (or -d)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats request svc.echo 'ping' --timeout 500ms --retries 3
  $ comms-cli request inventory.get '{"sku":"A1"}' --json | jq .data
  $ comms-cli nats request svc.echo 'load {{seq}}' -n 10000 -c 50 --expect-p99 20ms`,
    )
    .action(async (subject: string, payload: string | undefined, _opts: unknown, self: Command) => {
      const { requestPlanFrom, runRequest } = await import('./commands/request.js');
      const plan = requestPlanFrom(subject, payload, readOptions(REQUEST_OPTIONS, self.opts()));
      ctx.setExit(await runRequest(plan, ctx));
    });
  return addOptions(cmd, REQUEST_OPTIONS);
}

function defineReply(cmd: Command, ctx: CommandContext): Command {
  cmd
    .description(
      'answer requests on a subject, for testing: echo, a fixed body, or a command; with injected faults',
    )
    .argument('<subject>', 'subject to answer on (wildcards allowed)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli nats reply svc.echo                               # echo payload and headers
  $ comms-cli nats reply svc.time --exec 'date -u +%FT%TZ' --queue timers --exec-timeout 2s
  $ comms-cli nats reply svc.flaky --fail-rate 50% --delay 20ms  # watch retries and the breaker`,
    )
    .action(async (subject: string, _opts: unknown, self: Command) => {
      const { replyPlanFrom, runReply } = await import('./commands/reply.js');
      const plan = replyPlanFrom(subject, readOptions(REPLY_OPTIONS, self.opts()));
      ctx.setExit(await runReply(plan, ctx));
    });
  return addOptions(cmd, REPLY_OPTIONS);
}
