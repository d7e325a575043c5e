import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions, readOptions } from '../../command/option.js';
import {
  CONSUME_OPTIONS,
  DEFAULT_AMQP_URL,
  PUBLISH_OPTIONS,
  REPLY_OPTIONS,
  REQUEST_OPTIONS,
} from './flags.js';

/**
 * `comms-cli amqp publish|consume|request|reply` (RabbitMQ, AMQP 0-9-1): declarations only. Option
 * tables are parsed into typed values here, at the edge; amqplib and the runners load only when a
 * command runs, so `comms-cli http ...` never loads them.
 */
export function register(program: Command, ctx: CommandContext): void {
  const amqp = program
    .command('amqp')
    .description(
      'RabbitMQ (AMQP 0-9-1): publish with confirms, consume with acks, request/reply over direct reply-to',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli amqp publish orders '{"id":1}'                       # to the queue 'orders', confirmed
  $ comms-cli amqp publish events -r order.created @order.json --mandatory
  $ comms-cli amqp consume orders --count 10 --json
  $ comms-cli amqp reply rpc.echo --declare &   comms-cli amqp request rpc.echo ping --retries 2

Connection: --url or AMQP_URL (default ${DEFAULT_AMQP_URL}); credentials are redacted in all output.
Exit codes: 0 ok, 1 failed/404 NOT_FOUND/nack, 2 usage, 3 unreachable/ACCESS_REFUSED/unroutable, 4 timeout, 5 breaker open, 130 interrupted.`,
    );

  const publish = amqp
    .command('publish')
    .description('publish messages to a queue, or to an exchange with -r KEY; confirmed by the broker')
    .argument('<exchange|queue>', 'a queue name, or with -r/--routing-key an exchange name')
    .argument('[payload]', 'message payload (or -d); empty when neither is given')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli amqp publish jobs 'job {{seq}}' --count 100 --persistent
  $ comms-cli amqp publish amq.topic -r 'orders.{{seq}}' '{"n":{{seq}}}' -H 'trace-id: {{uuid}}' --count 5
  $ comms-cli amqp publish events -r nobody.listens x --mandatory   # exit 3: NO_ROUTE
  $ comms-cli amqp publish jobs hello -n 10000 -c 20 --expect-p99 20ms`,
    )
    .action(async (target: string, payload: string | undefined, _o: unknown, self: Command) => {
      const { runPublish } = await import('./commands/publish.js');
      ctx.setExit(await runPublish(target, payload, readOptions(PUBLISH_OPTIONS, self.opts()), ctx));
    });
  addOptions(publish, PUBLISH_OPTIONS);

  const consume = amqp
    .command('consume')
    .description('print messages from a queue as they arrive; each acked after stdout took it')
    .argument('<queue>', "queue to consume; '-' with --bind for a private queue bound to an exchange")
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli amqp consume jobs --count 10 --timeout 5s
  $ comms-cli amqp consume - --bind amq.topic:'orders.#' --json | jq .data
  $ comms-cli amqp consume jobs --prefetch 1 --nack      # reject each one (dead-letter exchange gets it)`,
    )
    .action(async (queue: string, _o: unknown, self: Command) => {
      const { runConsume } = await import('./commands/consume.js');
      ctx.setExit(await runConsume(queue, readOptions(CONSUME_OPTIONS, self.opts()), ctx));
    });
  addOptions(consume, CONSUME_OPTIONS);

  const request = amqp
    .command('request')
    .description('send a request and print the reply (direct reply-to, correlation id; retries on timeout)')
    .argument('<exchange|queue>', 'the queue a responder consumes, or with -r an exchange')
    .argument('[payload]', 'request payload (or -d)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli amqp request rpc.echo 'ping' --timeout 500ms --retries 3
  $ comms-cli amqp request rpc.echo 'load {{seq}}' -n 5000 -c 20 --expect-p99 20ms`,
    )
    .action(async (target: string, payload: string | undefined, _o: unknown, self: Command) => {
      const { runRequest } = await import('./commands/request.js');
      ctx.setExit(await runRequest(target, payload, readOptions(REQUEST_OPTIONS, self.opts()), ctx));
    });
  addOptions(request, REQUEST_OPTIONS);

  const reply = amqp
    .command('reply')
    .description(
      'answer requests on a queue, for testing: echo, a fixed body, or a command; with injected faults',
    )
    .argument('<queue>', 'the queue to answer on (--declare creates it)')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli amqp reply rpc.echo --declare --auto-delete
  $ comms-cli amqp reply rpc.time --exec 'date -u +%FT%TZ' --exec-timeout 2s
  $ comms-cli amqp reply rpc.flaky --fail-rate 50% --delay 20ms`,
    )
    .action(async (queue: string, _o: unknown, self: Command) => {
      const { runReply } = await import('./commands/reply.js');
      ctx.setExit(await runReply(queue, readOptions(REPLY_OPTIONS, self.opts()), ctx));
    });
  addOptions(reply, REPLY_OPTIONS);
}
