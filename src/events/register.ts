import type { Command } from 'commander';
import type { CommandContext } from '../command/context.js';
import { addOptions, type OptionTable, readOptions } from '../command/option.js';
import {
  APPEND_OPTIONS,
  DEAD_LETTER_OPTIONS,
  DISPATCH_OPTIONS,
  NATS_STORE_OPTIONS,
  type NatsStoreValues,
  READ_OPTIONS,
  STATS_OPTIONS,
  TAIL_OPTIONS,
} from './flags.js';

/** Attach a command's table, then the NATS connection options in their own help group. */
function withOptions(cmd: Command, table: OptionTable): Command {
  addOptions(cmd, table);
  cmd.optionsGroup('NATS connection (a nats:// or tls:// --store, and nats: handlers):');
  addOptions(cmd, NATS_STORE_OPTIONS);
  cmd.optionsGroup('Options:');
  return cmd;
}

/** The typed values of `table` plus the NATS connection values, out of a command's parsed options. */
function valuesOf<T extends OptionTable>(table: T, self: Command) {
  const opts = self.opts();
  return { ...readOptions(table, opts), ...(readOptions(NATS_STORE_OPTIONS, opts) as NatsStoreValues) };
}

/**
 * `comms-cli events ...`: an event log with optimistic concurrency and at-least-once dispatch, on an
 * embedded store or JetStream. Declarations only: options are parsed into typed values here, and
 * each action imports its runner (and the store it needs) lazily.
 */
export function register(program: Command, ctx: CommandContext): void {
  const events = program
    .command('events')
    .description('an event log: append, read, tail and dispatch events, embedded or on JetStream')
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli events append order-42 OrderPlaced -d '{"total":12.5}' --expected-version none
  $ comms-cli events read order-42 --json | jq .data
  $ comms-cli events dispatch --to http://127.0.0.1:8080/hook --checkpoint billing --retries 3`,
    );

  withOptions(
    events
      .command('append <aggregate> <type>')
      .description('append one event (or one per stdin line with --lines)')
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events append order-42 OrderPlaced -d '{"sku":"A1","qty":2}' --expected-version none
  $ comms-cli events append order-42 OrderPaid -d @payment.json --expected-version 1 --id pay-42
  $ printf '{"n":1}\\n{"n":2}\\n' | comms-cli events append meter-7 Reading --lines --json
  $ comms-cli events append 'load-{{seq}}' Ping -d '{"n":{{seq}}}' -n 5000 -c 20   # load mode`,
      ),
    APPEND_OPTIONS,
  ).action(async (aggregate: string, type: string, _opts: unknown, self: Command) => {
    const { runAppend } = await import('./commands/append.js');
    ctx.setExit(await runAppend(aggregate, type, valuesOf(APPEND_OPTIONS, self), ctx));
  });

  withOptions(
    events
      .command('read [aggregate]')
      .description("an aggregate's history in version order, or every event with --all")
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events read order-42
  $ comms-cli events read order-42 --from 3 --json
  $ comms-cli events read --all --type OrderPlaced --since 1h --json | jq -c .data`,
      ),
    READ_OPTIONS,
  ).action(async (aggregate: string | undefined, _opts: unknown, self: Command) => {
    const { runRead } = await import('./commands/read.js');
    ctx.setExit(await runRead(aggregate, valuesOf(READ_OPTIONS, self), ctx));
  });

  withOptions(
    events
      .command('tail')
      .description('follow new events live (Ctrl-C to stop)')
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events tail --json
  $ comms-cli events tail --type OrderPlaced --from 0 --count 10
  $ comms-cli events tail --store nats://127.0.0.1:4222 --aggregate order-42`,
      ),
    TAIL_OPTIONS,
  ).action(async (_opts: unknown, self: Command) => {
    const { runTail } = await import('./commands/tail.js');
    ctx.setExit(await runTail(valuesOf(TAIL_OPTIONS, self), ctx));
  });

  withOptions(
    events
      .command('stats')
      .description('aggregates, events and the last position')
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events stats
  $ comms-cli events stats --json | jq .events
  $ comms-cli events stats --store nats://127.0.0.1:4222 --stream ORDERS
  $ comms-cli events stats --store tls://nats.internal:4222 --tls-ca ca.pem --creds app.creds`,
      ),
    STATS_OPTIONS,
  ).action(async (_opts: unknown, self: Command) => {
    const { runStats } = await import('./commands/stats.js');
    ctx.setExit(await runStats(valuesOf(STATS_OPTIONS, self), ctx));
  });

  const dispatch = withOptions(
    events
      .command('dispatch')
      .description('deliver events in order to a handler, with retries, timeouts, breaker and a checkpoint')
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events dispatch --to http://127.0.0.1:8080/hook --checkpoint billing --retries 3
  $ comms-cli events dispatch --to nats:orders.handle --checkpoint orders --follow --breaker 5
  $ comms-cli events dispatch --to 'exec:jq -c .data >> out.ndjson' --checkpoint export --retry-dead-letters`,
      ),
    DISPATCH_OPTIONS,
  );
  // --to is required: commander reports its absence as a usage error (exit 2) before anything runs.
  dispatch.options.find((o) => o.long === '--to')?.makeOptionMandatory();
  dispatch.action(async (_opts: unknown, self: Command) => {
    const { runDispatch } = await import('./commands/dispatch.js');
    const values = valuesOf(DISPATCH_OPTIONS, self);
    ctx.setExit(await runDispatch({ ...values, to: values.to ?? '' }, ctx));
  });

  withOptions(
    events
      .command('dead-letters')
      .description('list events that failed their handler after all retries')
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events dead-letters
  $ comms-cli events dead-letters --checkpoint billing --json | jq .error.message
  $ comms-cli events dispatch --to http://127.0.0.1:8080/hook --checkpoint billing --retry-dead-letters`,
      ),
    DEAD_LETTER_OPTIONS,
  ).action(async (_opts: unknown, self: Command) => {
    const { runDeadLetters } = await import('./commands/dead-letters.js');
    ctx.setExit(await runDeadLetters(valuesOf(DEAD_LETTER_OPTIONS, self), ctx));
  });
}
