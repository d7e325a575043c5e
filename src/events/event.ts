import { UsageError } from '../errors/comms-error.js';

/** One event as stored and as printed (`--json` prints exactly this object). */
export interface StoredEvent {
  /** Unique id (UUID unless `--id` gave one); handlers deduplicate on it. */
  id: string;
  aggregate: string;
  type: string;
  /** 1-based position within the aggregate: the version the aggregate is at after this event. */
  version: number;
  /** 1-based position in the whole store (global order). */
  position: number;
  /** ISO 8601 time of the append. */
  time: string;
  data: unknown;
  /** correlationId, causationId and any `--meta k=v`. */
  metadata: Record<string, string>;
}

/** What `append` is given; the store assigns version, position and time. */
export interface NewEvent {
  id: string;
  aggregate: string;
  type: string;
  data: unknown;
  metadata: Record<string, string>;
}

/**
 * The optimistic-concurrency check of an append: a version number the aggregate must be at
 * (0 = the aggregate must not exist yet, `--expected-version none`), or `undefined` for `any`.
 */
export type ExpectedVersion = number | undefined;

/** What an append returns: the event, and whether `--id` matched an event already stored. */
export interface AppendResult {
  event: StoredEvent;
  duplicate: boolean;
}

// Aggregate names become NATS subject tokens on the JetStream store; the same rule applies to the
// embedded store so both behave alike: printable, no spaces, no wildcards, no empty dot-separated parts.
const AGGREGATE_RE = /^[^\s*>.]+(?:\.[^\s*>.]+)*$/;

/** @throws UsageError (exit 2) for an empty or unusable aggregate name. */
export function validateAggregate(aggregate: string | undefined): string {
  if (aggregate === undefined || aggregate.trim() === '') throw new UsageError('aggregate must not be empty');
  if (aggregate.length > 200 || !AGGREGATE_RE.test(aggregate) || hasControl(aggregate)) {
    throw new UsageError(`invalid aggregate '${aggregate}'`, {
      hint: 'use printable characters without spaces, * or >, and no empty dot-separated parts (e.g. order-42)',
    });
  }
  return aggregate;
}

/** @throws UsageError (exit 2) for an empty or unusable event type. */
export function validateType(type: string | undefined): string {
  if (type === undefined || type.trim() === '') throw new UsageError('event type must not be empty');
  if (type.length > 200 || /\s/.test(type) || hasControl(type)) {
    throw new UsageError(`invalid event type '${type}'`, {
      hint: 'use a name without spaces, e.g. OrderPlaced',
    });
  }
  return type;
}

/** Names of checkpoints (and their dead-letter lists): file names and KV keys on both stores. */
export function validateName(name: string, flag: string): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(name)) {
    throw new UsageError(`invalid ${flag} '${name}'`, {
      hint: 'use letters, digits, _ and - (e.g. billing)',
    });
  }
  return name;
}

/** `--expected-version N | none | any` (absent = any). */
export function parseExpectedVersion(text: string | undefined): ExpectedVersion {
  if (text === undefined || text === 'any') return undefined;
  if (text === 'none') return 0;
  if (!/^\d+$/.test(text)) {
    throw new UsageError(`invalid --expected-version '${text}'`, {
      hint: 'a version number, none (new aggregate) or any',
    });
  }
  return Number(text);
}

function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) < 0x20 || text.charCodeAt(i) === 0x7f) return true;
  return false;
}

/** True when `value` is a well-formed stored event (a line or message written by comms-cli). */
export function isStoredEvent(value: unknown): value is StoredEvent {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Partial<StoredEvent>;
  return (
    typeof e.id === 'string' &&
    typeof e.aggregate === 'string' &&
    typeof e.type === 'string' &&
    typeof e.version === 'number' &&
    typeof e.position === 'number' &&
    typeof e.time === 'string'
  );
}
