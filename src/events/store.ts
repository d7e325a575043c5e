import type { AppendResult, ExpectedVersion, NewEvent, StoredEvent } from './event.js';

/** Filters of `read --all`, `tail` and `dispatch`. */
export interface EventFilter {
  /** Only these event types. */
  types?: readonly string[];
  /** Only events appended at or after this time (ms since epoch). */
  sinceMs?: number;
  /** Only this aggregate. */
  aggregate?: string;
}

export interface ReadAllOptions {
  /** Start after this global position (0 = from the beginning). */
  afterPosition: number;
  filter?: EventFilter;
  /** Keep waiting for new events instead of ending at the current end. */
  follow?: boolean;
  /** Ends a follow (and any read) early. */
  signal?: AbortSignal;
}

export interface StoreStats {
  aggregates: number;
  events: number;
  /** Global position of the last event (0 when empty). */
  lastPosition: number;
  /**
   * Embedded store: bytes after the last complete event (a torn last line: a writer died mid-append,
   * or the file was damaged from outside). Readers skip them; the next append cuts them.
   */
  tornTail?: { offset: number; bytes: number; file: string };
}

/** An event that failed its handler after all retries, kept until re-driven. */
export interface DeadLetter {
  /** The dispatcher it belongs to (`--checkpoint` name, or `default`). */
  group: string;
  event: StoredEvent;
  /** The handler it failed at (`--to`). */
  handler: string;
  error: { kind: string; message: string };
  /** How many dispatch runs tried it so far. */
  runs: number;
  time: string;
}

/**
 * The event log. Two implementations with the same behaviour: the embedded store (JSON lines on
 * local disk, `file-store.ts`) and JetStream (`jetstream-store.ts`). Every method honours the
 * contract's errors: a version conflict is a ResponseError (exit 1), an unreadable store a
 * UsageError (exit 2), an unreachable one a ConnectError (exit 3).
 */
export interface EventStore {
  readonly kind: 'file' | 'jetstream';
  /** Where the store is, for messages and --json `target` (credentials redacted). */
  readonly location: string;
  /**
   * Append one event. With `expected` the aggregate must be at that version (0 = new) or the append
   * fails with a version conflict. An event whose id is already stored is returned, not re-added.
   */
  append(event: NewEvent, expected: ExpectedVersion): Promise<AppendResult>;
  /** The aggregate's events in version order, from version `fromVersion` (1-based) on. */
  readAggregate(aggregate: string, fromVersion: number, signal?: AbortSignal): AsyncIterable<StoredEvent>;
  /** Events in global order; with `follow`, waits for new ones until the signal aborts. */
  readAll(options: ReadAllOptions): AsyncIterable<StoredEvent>;
  stats(): Promise<StoreStats>;
  /** The global position a dispatcher last handled (0 = none). */
  getCheckpoint(name: string): Promise<number>;
  /** Durably store a dispatcher's position. */
  setCheckpoint(name: string, position: number): Promise<void>;
  /**
   * Hold a checkpoint exclusively for a whole dispatch run; resolves with the release. A checkpoint
   * already held by another live dispatcher is a UsageError (COMMS_ERR_CHECKPOINT_BUSY) naming it.
   */
  holdCheckpoint(name: string): Promise<() => Promise<void>>;
  addDeadLetter(letter: DeadLetter): Promise<void>;
  /** Dead letters in position order; all groups when `group` is absent. */
  listDeadLetters(group?: string): Promise<DeadLetter[]>;
  removeDeadLetter(group: string, position: number): Promise<void>;
  close(): Promise<void>;
}

/** True when the event passes a filter. */
export function matchesFilter(event: StoredEvent, filter: EventFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.aggregate !== undefined && event.aggregate !== filter.aggregate) return false;
  if (filter.types && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (filter.sinceMs !== undefined && Date.parse(event.time) < filter.sinceMs) return false;
  return true;
}
