import type { Command } from 'commander';
import type { CommandContext } from '../../command/context.js';
import { addOptions as addOptionTable } from '../../command/option.js';
import { NATS_CONNECTION_OPTIONS } from '../../transports/nats/connection-options.js';
import {
  addOptions,
  LOAD_OPTIONS,
  type OptionTable,
  OUTPUT_OPTIONS,
  RESILIENCE_OPTIONS,
} from '../options.js';

/** Flags every `events` subcommand takes: where the store is. */
export interface EventStoreFlags {
  store?: string;
  stream?: string;
}

const STORE_OPTIONS: OptionTable<EventStoreFlags> = {
  store: {
    flags: '--store <path|nats://host:port>',
    description: 'event store: a directory (embedded) or a NATS server (JetStream); also COMMS_EVENTS',
    defaultDescription: './.comms-events',
  },
  stream: {
    flags: '--stream <name>',
    description: 'JetStream stream holding the events (created when missing)',
    defaultDescription: 'EVENTS',
  },
};

// The NATS connection flags (credentials, TLS files, name) without -s: a JetStream store's server is
// --store; `dispatch` keeps its own -s for nats: handlers.
const { server: _server, ...NATS_STORE_OPTIONS } = NATS_CONNECTION_OPTIONS;

/** The NATS flags in their own help group, so the command's own options stay easy to find. */
function addNatsOptions(cmd: Command): Command {
  cmd.optionsGroup('NATS connection (a nats:// or tls:// --store, and nats: handlers):');
  addOptionTable(cmd, NATS_STORE_OPTIONS);
  cmd.optionsGroup('Options:');
  return cmd;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * `comms-cli events ...`: an event log with optimistic concurrency and at-least-once dispatch, on an
 * embedded store or JetStream. This file only declares the commands; each action imports its work
 * (and the store it needs) lazily.
 */
export function registerEvents(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
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

  const withStore = (cmd: Command) =>
    addNatsOptions(addOptions(addOptions(cmd, STORE_OPTIONS), OUTPUT_OPTIONS));
  // append is a call command too: the shared resilience flags, and load mode (-n, --duration, --rate).
  const withCallFlags = (cmd: Command) =>
    addOptions(addOptions(withStore(cmd), RESILIENCE_OPTIONS), LOAD_OPTIONS);

  withCallFlags(
    events
      .command('append <aggregate> <type>')
      .description('append one event (or one per stdin line with --lines)')
      .option('-d, --data <json|@file|@->', 'event data: JSON text, @file or @- for stdin', '{}')
      .option(
        '--expected-version <n|none|any>',
        'fail (exit 1) unless the aggregate is at this version; none = new aggregate',
        'any',
      )
      .option(
        '--id <id>',
        'event id; appending it again returns the original event, reusing it for another aggregate or type fails (exit 1) ({{seq}} with --lines)',
      )
      .option('--correlation-id <id>', 'metadata.correlationId')
      .option('--causation-id <id>', 'metadata.causationId')
      .option('--meta <key=value>', 'extra metadata (repeatable)', collect)
      .option('--lines', 'read NDJSON from stdin: one event per line, each line its data')
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events append order-42 OrderPlaced -d '{"sku":"A1","qty":2}' --expected-version none
  $ comms-cli events append order-42 OrderPaid -d @payment.json --expected-version 1 --id pay-42
  $ printf '{"n":1}\\n{"n":2}\\n' | comms-cli events append meter-7 Reading --lines --json
  $ comms-cli events append 'load-{{seq}}' Ping -d '{"n":{{seq}}}' -n 5000 -c 20   # load mode`,
      ),
  ).action(async (aggregate: string, type: string, flags) => {
    const { runAppend } = await import('../../events/commands/append.js');
    setExit(await runAppend(aggregate, type, flags, ctx));
  });

  withStore(
    events
      .command('read [aggregate]')
      .description("an aggregate's history in version order, or every event with --all")
      .option('--all', 'every aggregate, in global order')
      .option('--from <n>', 'start at this version (aggregate) or after this position (--all)')
      .option('--type <type>', 'only events of this type (repeatable)', collect)
      .option('--since <time|dur>', 'only events at or after an ISO time, or this long ago (10m)')
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events read order-42
  $ comms-cli events read order-42 --from 3 --json
  $ comms-cli events read --all --type OrderPlaced --since 1h --json | jq -c .data`,
      ),
  ).action(async (aggregate: string | undefined, flags) => {
    const { runRead } = await import('../../events/commands/read.js');
    setExit(await runRead(aggregate, flags, ctx));
  });

  withStore(
    events
      .command('tail')
      .description('follow new events live (Ctrl-C to stop)')
      .option('--aggregate <name>', 'only this aggregate')
      .option('--type <type>', 'only events of this type (repeatable)', collect)
      .option('--since <time|dur>', 'only events at or after an ISO time, or this long ago')
      .option('--from <position>', 'start after this global position instead of at the end (0 = everything)')
      .option('--count <n>', 'stop after n events')
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events tail --json
  $ comms-cli events tail --type OrderPlaced --from 0 --count 10
  $ comms-cli events tail --store nats://127.0.0.1:4222 --aggregate order-42`,
      ),
  ).action(async (flags) => {
    const { runTail } = await import('../../events/commands/tail.js');
    setExit(await runTail(flags, ctx));
  });

  withStore(
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
  ).action(async (flags) => {
    const { runStats } = await import('../../events/commands/stats.js');
    setExit(await runStats(flags, ctx));
  });

  const dispatch = events
    .command('dispatch')
    .description('deliver events in order to a handler, with retries, timeouts, breaker and a checkpoint')
    .requiredOption(
      '--to <handler>',
      'http(s)://URL (POST), nats:SUBJECT (request) or exec:CMD (event on stdin)',
    )
    .option(
      '--checkpoint <name>',
      'resume after the position this dispatcher last handled, and store it as it goes',
    )
    .option('--from <position>', 'start after this global position (default: the checkpoint, else 0)')
    .option('--aggregate <name>', 'only this aggregate')
    .option('--type <type>', 'only events of this type (repeatable)', collect)
    .option('--follow', 'keep dispatching new events until Ctrl-C')
    .option('--stop-on-failure', 'halt at the first event still failing after its retries (no dead letter)')
    .option(
      '--dead-letter-unreachable',
      'park events whose handler cannot be reached after its retries and go on (default: stop, exit 3)',
    )
    .option('--retry-dead-letters', "re-drive this dispatcher's dead letters instead of new events")
    .option(
      '-s, --server <url>',
      'NATS server for nats: handlers (default: NATS_URL, else a nats:// --store)',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ comms-cli events dispatch --to http://127.0.0.1:8080/hook --checkpoint billing --retries 3
  $ comms-cli events dispatch --to nats:orders.handle --checkpoint orders --follow --breaker 5
  $ comms-cli events dispatch --to 'exec:jq -c .data >> out.ndjson' --checkpoint export --retry-dead-letters`,
    );
  addOptions(dispatch, STORE_OPTIONS);
  addOptions(dispatch, RESILIENCE_OPTIONS);
  addOptions(dispatch, OUTPUT_OPTIONS);
  addNatsOptions(dispatch);
  dispatch.action(async (flags) => {
    const { runDispatch } = await import('../../events/commands/dispatch.js');
    setExit(await runDispatch(flags, ctx));
  });

  withStore(
    events
      .command('dead-letters')
      .description('list events that failed their handler after all retries')
      .option('--checkpoint <name>', "only this dispatcher's dead letters")
      .addHelpText(
        'after',
        `
Examples:
  $ comms-cli events dead-letters
  $ comms-cli events dead-letters --checkpoint billing --json | jq .error.message
  $ comms-cli events dispatch --to http://127.0.0.1:8080/hook --checkpoint billing --retry-dead-letters`,
      ),
  ).action(async (flags) => {
    const { runDeadLetters } = await import('../../events/commands/dead-letters.js');
    setExit(await runDeadLetters(flags, ctx));
  });
}
