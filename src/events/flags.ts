import { CALL_OPTIONS } from '../command/call-options.js';
import {
  duration,
  flag,
  integer,
  list,
  type OptionEntry,
  type OptionTable,
  type OptionValues,
  text,
} from '../command/option.js';
import { OUTPUT_OPTIONS, RESILIENCE_OPTIONS } from '../command/shared-options.js';
import { NATS_CONNECTION_OPTIONS, type NatsConnectionFlags } from '../transports/nats/connection-options.js';

/** Where the embedded store lives when neither `--store` nor `COMMS_EVENTS` says otherwise. */
export const DEFAULT_STORE_DIR = '.comms-events';
/** The JetStream stream of a `nats://` store when `--stream` is not given. */
export const DEFAULT_STREAM = 'EVENTS';

/** Where the store is: every `events` subcommand takes these. */
export const STORE_OPTIONS = {
  store: text(
    '--store <path|nats://host:port>',
    `event store: a directory (embedded) or a NATS server (JetStream); also COMMS_EVENTS (default: ./${DEFAULT_STORE_DIR})`,
  ),
  stream: text('--stream <name>', 'JetStream stream holding the events (created when missing)', {
    default: DEFAULT_STREAM,
  }),
};

/**
 * The NATS connection options (credentials, TLS files, name) without -s, as the nats slice declares
 * them: a JetStream store's server is --store, and `dispatch` keeps its own -s for nats: handlers.
 */
const { server: _server, ...natsStoreOptions } = NATS_CONNECTION_OPTIONS;
export const NATS_STORE_OPTIONS: OptionTable = asEntries(natsStoreOptions);
/** The NATS connection values a store (and a nats: handler) takes; the server comes from elsewhere. */
export type NatsStoreValues = Omit<NatsConnectionFlags, 'server'>;

/**
 * Transitional, until the nats slice's table is made of option entries (then this is the identity):
 * an older `{ flags, description }` entry is read as free text, which is what it was.
 */
function asEntries(table: object): OptionTable {
  const entries: Record<string, OptionEntry<unknown>> = {};
  for (const [key, spec] of Object.entries(
    table as Record<
      string,
      { flags: string; kind?: unknown; description?: string; defaultDescription?: string }
    >,
  )) {
    entries[key] =
      spec.kind !== undefined
        ? (spec as unknown as OptionEntry<unknown>)
        : spec.defaultDescription !== undefined
          ? text(spec.flags, spec.description ?? '', { default: spec.defaultDescription })
          : text(spec.flags, spec.description ?? '');
  }
  return entries;
}

/** What every `events` subcommand takes, besides the NATS connection options. */
const STORE_AND_OUTPUT = { ...STORE_OPTIONS, ...OUTPUT_OPTIONS };

export const APPEND_OPTIONS = {
  data: text('-d, --data <json|@file|@->', 'event data: JSON text, @file or @- for stdin', { default: '{}' }),
  expectedVersion: text(
    '--expected-version <n|none|any>',
    'fail (exit 1) unless the aggregate is at this version; none = new aggregate',
    { default: 'any' },
  ),
  id: text(
    '--id <id>',
    'event id; appending it again returns the original event, reusing it for another aggregate or type fails (exit 1) ({{seq}} with --lines)',
  ),
  correlationId: text('--correlation-id <id>', 'metadata.correlationId'),
  causationId: text('--causation-id <id>', 'metadata.causationId'),
  meta: list('--meta <key=value>', 'extra metadata (repeatable)', { mapSyntax: '=' }),
  lines: flag('--lines', 'read NDJSON from stdin: one event per line, each line its data'),
  ...STORE_AND_OUTPUT,
  // append is a call command too: the shared resilience options and load mode (-n, --duration, --rate).
  ...CALL_OPTIONS,
};
export type AppendValues = OptionValues<typeof APPEND_OPTIONS>;

const position = (flags: string, help: string) => integer(flags, help, { min: 0 });

export const READ_OPTIONS = {
  all: flag('--all', 'every aggregate, in global order'),
  from: position('--from <n>', 'start at this version (aggregate) or after this position (--all)'),
  type: list('--type <type>', 'only events of this type (repeatable)'),
  since: text('--since <time|dur>', 'only events at or after an ISO time, or this long ago (10m)'),
  ...STORE_AND_OUTPUT,
};
export type ReadValues = OptionValues<typeof READ_OPTIONS>;

export const TAIL_OPTIONS = {
  aggregate: text('--aggregate <name>', 'only this aggregate'),
  type: list('--type <type>', 'only events of this type (repeatable)'),
  since: text('--since <time|dur>', 'only events at or after an ISO time, or this long ago'),
  from: position(
    '--from <position>',
    'start after this global position instead of at the end (0 = everything)',
  ),
  count: integer('--count <n>', 'stop after n events', { min: 1 }),
  timeout: duration(
    '--timeout <dur>',
    'exit 4 unless the expected events (--count, or at least one) arrive within this time',
  ),
  ...STORE_AND_OUTPUT,
};
export type TailValues = OptionValues<typeof TAIL_OPTIONS>;

export const STATS_OPTIONS = STORE_AND_OUTPUT;
export type StatsValues = OptionValues<typeof STATS_OPTIONS>;

export const DISPATCH_OPTIONS = {
  to: text(
    '--to <handler>',
    'http(s)://URL (POST), ws(s)://URL (message, answered), amqp(s)://…?queue=Q|exchange=X&routing-key=K (confirmed publish), mqtt(s)://host/TOPIC (QoS 1), nats:SUBJECT (request) or exec:CMD (event on stdin)',
  ),
  checkpoint: text(
    '--checkpoint <name>',
    'resume after the position this dispatcher last handled, and store it as it goes',
  ),
  from: position('--from <position>', 'start after this global position (default: the checkpoint, else 0)'),
  aggregate: text('--aggregate <name>', 'only this aggregate'),
  type: list('--type <type>', 'only events of this type (repeatable)'),
  follow: flag('--follow', 'keep dispatching new events until Ctrl-C'),
  stopOnFailure: flag(
    '--stop-on-failure',
    'halt at the first event still failing after its retries (no dead letter)',
  ),
  deadLetterUnreachable: flag(
    '--dead-letter-unreachable',
    'park events whose handler cannot be reached after its retries and go on (default: stop, exit 3)',
  ),
  retryDeadLetters: flag(
    '--retry-dead-letters',
    "re-drive this dispatcher's dead letters instead of new events",
  ),
  server: text(
    '-s, --server <url>',
    'NATS server for nats: handlers (default: NATS_URL, else a nats:// --store)',
  ),
  ...STORE_OPTIONS,
  // One delivery is one call: the shared resilience options, but no load mode.
  ...RESILIENCE_OPTIONS,
  ...OUTPUT_OPTIONS,
};
export type DispatchValues = OptionValues<typeof DISPATCH_OPTIONS>;

export const DEAD_LETTER_OPTIONS = {
  checkpoint: text('--checkpoint <name>', "only this dispatcher's dead letters"),
  ...STORE_AND_OUTPUT,
};
export type DeadLetterValues = OptionValues<typeof DEAD_LETTER_OPTIONS>;

/** Where a command's store is and how to reach it: `--store`, `--stream` and the NATS connection values. */
export type StoreValues = OptionValues<typeof STORE_OPTIONS> & NatsStoreValues;
