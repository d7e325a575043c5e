import { hostname } from 'node:os';
import { type JetStreamClient, type JetStreamManager, jetstream, type StoredMsg } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { nanos } from '@nats-io/transport-node';
import { ConnectError, UsageError } from '../errors/comms-error.js';
import { connectNats, type NatsConnection, natsConnectOptionsFrom } from '../transports/nats/connection.js';
import { describeServers } from '../transports/nats/connection-options.js';
import { jetstreamError, manager, validateStreamName } from '../transports/nats/jetstream.js';
import type { AppendResult, ExpectedVersion, NewEvent, StoredEvent } from './event.js';
import { isStoredEvent } from './event.js';
import { DEFAULT_STREAM, type NatsStoreValues } from './flags.js';
import { sameAppend } from './id-conflict.js';
import {
  type DeadLetter,
  type EventStore,
  matchesFilter,
  type ReadAllOptions,
  type StoreStats,
} from './store.js';
import { versionConflict } from './version-conflict.js';

/** Deduplication window of streams this store creates: how long `--id` is remembered by Nats-Msg-Id. */
const DUPLICATE_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Appends with `--expected-version any` re-read and retry when another writer got in between. */
const MAX_ANY_RETRIES = 50;

/** The event body on the wire; `position` is the stream sequence, known only once stored. */
type WireEvent = Omit<StoredEvent, 'position'>;

export interface JetStreamStoreOptions {
  stream?: string;
  /** Credentials and TLS files (`--user`, `--creds`, `--tls-ca`...); the server is the spec. */
  connection?: NatsStoreValues;
  signal?: AbortSignal;
  /** Create the stream when missing (commands that write); reads report a missing stream instead. */
  create?: boolean;
}

/**
 * The distributed store: one JetStream stream (`--stream`, default EVENTS, created when missing over
 * `evt.<STREAM>.>`), one subject per aggregate (`evt.<STREAM>.<aggregate>`), the global position is
 * the stream sequence.
 * - Optimistic concurrency: read the aggregate's last message (its version and sequence), then publish
 *   with `Nats-Expected-Last-Subject-Sequence`; the server rejects the publish if anyone appended in
 *   between, so the check holds across processes and hosts. `any` does the same in a retry loop, so
 *   versions stay gap-free under contention.
 * - Idempotency: `Nats-Msg-Id` = event id. The server answers a duplicate with the original sequence,
 *   within the stream's duplicate window (24 h on streams created here); outside it, a version check
 *   that fails still finds the id in the aggregate's history.
 * - Checkpoints and dead letters in KV buckets `<STREAM>_checkpoints` and `<STREAM>_deadletters`.
 * Uses only features of nats-server 2.9 (single filter subjects, no multi-filter consumers).
 */
export class JetStreamEventStore implements EventStore {
  readonly kind = 'jetstream' as const;
  readonly location: string;
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #prefix: string;
  readonly #kv = new Map<string, Promise<KV>>();

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    location: string,
    stream: string,
    prefix: string,
  ) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.location = location;
    this.#stream = stream;
    this.#prefix = prefix;
  }

  static async open(spec: string, options: JetStreamStoreOptions = {}): Promise<JetStreamEventStore> {
    const stream = validateStreamName(options.stream ?? DEFAULT_STREAM, '--stream');
    const connectOptions = natsConnectOptionsFrom(
      { ...options.connection, server: spec },
      { reconnect: 'brief', connectTimeoutMs: 5_000, flag: '--store' },
    );
    const where = describeServers(connectOptions.servers);
    let nc: NatsConnection;
    try {
      nc = await connectNats(connectOptions);
    } catch (err) {
      throw storeConnectError(err, where);
    }
    try {
      const jsm = await manager(nc, where);
      const prefix = await ensureEventStream(jsm, stream, options.create ?? true, where);
      return new JetStreamEventStore(nc, jsm, `${where} stream ${stream}`, stream, prefix);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  #subject(aggregate: string): string {
    return `${this.#prefix}.${aggregate}`;
  }

  async append(input: NewEvent, expected: ExpectedVersion): Promise<AppendResult> {
    const subject = this.#subject(input.aggregate);
    for (let round = 0; ; round++) {
      const last = await this.#last(subject);
      const current = last?.event.version ?? 0;
      if (expected !== undefined && expected !== current) {
        const seen = await this.#findById(input.aggregate, input.id);
        if (seen) return { event: sameAppend(input, seen), duplicate: true };
        throw versionConflict(input.aggregate, expected, current);
      }
      const wire: WireEvent = {
        id: input.id,
        aggregate: input.aggregate,
        type: input.type,
        version: current + 1,
        time: new Date().toISOString(),
        data: input.data,
        metadata: input.metadata,
      };
      try {
        const ack = await this.#js.publish(subject, JSON.stringify(wire), {
          msgID: input.id,
          expect: { lastSubjectSequence: last?.seq ?? 0 },
        });
        if (ack.duplicate) {
          const original = await this.#get(ack.seq);
          if (original) return { event: sameAppend(input, original), duplicate: true };
        }
        return { event: { ...wire, position: ack.seq }, duplicate: false };
      } catch (err) {
        if (!isWrongLastSequence(err)) throw jetstreamError(err, this.location);
        // Someone appended in between: re-read. With an expected version, the next round reports the conflict.
        if (round >= MAX_ANY_RETRIES) throw jetstreamError(err, this.location);
      }
    }
  }

  async *readAggregate(
    aggregate: string,
    fromVersion: number,
    signal?: AbortSignal,
  ): AsyncIterable<StoredEvent> {
    const subject = this.#subject(aggregate);
    const last = await this.#last(subject);
    if (!last || last.event.version < fromVersion) return;
    for await (const event of this.#consume(subject, 1, last.seq, false, signal)) {
      if (event.version >= fromVersion) yield event;
    }
  }

  async *readAll(options: ReadAllOptions): AsyncIterable<StoredEvent> {
    const filter = options.filter;
    const subject = filter?.aggregate !== undefined ? this.#subject(filter.aggregate) : `${this.#prefix}.>`;
    // A consumer whose filter has nothing from its start sequence on waits forever, so a read that
    // does not follow first asks for the last message on the subject (wildcards work on 2.9) and ends
    // at once when it is behind the start: an aggregate with no events, a checkpoint already at the
    // end, a purged range. The stream's last_seq is no help: it stays after a purge or a delete.
    const lastSeq = options.follow ? undefined : await this.#lastSeq(subject);
    if (!options.follow && (lastSeq === undefined || lastSeq <= options.afterPosition)) return;
    for await (const event of this.#consume(
      subject,
      options.afterPosition + 1,
      lastSeq,
      options.follow === true,
      options.signal,
    )) {
      if (matchesFilter(event, filter)) yield event;
    }
  }

  async stats(): Promise<StoreStats> {
    const info = await this.#info();
    return {
      aggregates: info.state.num_subjects ?? 0,
      events: info.state.messages,
      lastPosition: info.state.last_seq,
    };
  }

  /** The checkpoint: a non-negative integer no further than the stream's end, else exit 2 naming the key. */
  async getCheckpoint(name: string): Promise<number> {
    const kv = await this.#bucket('checkpoints');
    const entry = await kv.get(name).catch((err: unknown) => {
      throw jetstreamError(err, this.location);
    });
    const text = entry?.operation === 'PUT' ? entry.string() : undefined;
    if (text === undefined) return 0;
    const where = `checkpoint '${name}' in KV bucket ${this.#stream}_checkpoints`;
    const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
    if (!Number.isSafeInteger(n))
      throw new UsageError(
        `invalid ${where}: ${JSON.stringify(text.slice(0, 40))} is not a non-negative integer`,
        {
          code: 'COMMS_ERR_BAD_CHECKPOINT',
          hint: `fix or delete it (nats kv del ${this.#stream}_checkpoints ${name})`,
        },
      );
    if (n > 0) {
      const last = (await this.#info()).state.last_seq;
      if (n > last)
        throw new UsageError(
          `${where} is at position ${n}, beyond the end of the stream (last position ${last})`,
          {
            code: 'COMMS_ERR_BAD_CHECKPOINT',
            hint: 'the stream lost messages, or the checkpoint belongs to another stream',
          },
        );
    }
    return n;
  }

  /**
   * Hold the checkpoint for a dispatch run: key `NAME.lock` in the checkpoints bucket, created only when
   * absent (the server decides, so it holds across hosts), holding `pid@host`. A holder on this host
   * whose pid is gone (kill -9) is replaced; one on another host must be deleted by hand.
   */
  async holdCheckpoint(name: string): Promise<() => Promise<void>> {
    const kv = await this.#bucket('checkpoints');
    const key = `${name}.lock`;
    const me = `${process.pid}@${hostname()}`;
    for (let round = 0; ; round++) {
      let failure: unknown;
      try {
        const revision = await kv.create(key, me);
        return async () => {
          await kv.delete(key, { previousSeq: revision }).catch(() => {});
        };
      } catch (err) {
        failure = err;
      }
      const entry = await kv.get(key).catch(() => null);
      const holder = entry?.operation === 'PUT' ? entry.string() : undefined;
      if (holder === undefined) {
        if (round < 3) continue; // released meanwhile: try again
        throw jetstreamError(failure, this.location);
      }
      const [pid, host] = holder.split('@');
      const stale = host === hostname() && pid !== undefined && !alive(Number(pid));
      if (stale && entry) {
        await kv.delete(key, { previousSeq: entry.revision }).catch(() => {});
        continue;
      }
      throw new UsageError(
        `checkpoint '${name}' is in use by pid ${pid ?? '?'}${host && host !== hostname() ? ` on ${host}` : ''} (another events dispatch; key ${key} in KV bucket ${this.#stream}_checkpoints)`,
        {
          code: 'COMMS_ERR_CHECKPOINT_BUSY',
          hint: 'wait for that dispatcher to finish, or give this one another --checkpoint name',
        },
      );
    }
  }

  async setCheckpoint(name: string, position: number): Promise<void> {
    const kv = await this.#bucket('checkpoints');
    await kv.put(name, String(position)).catch((err: unknown) => {
      throw jetstreamError(err, this.location);
    });
  }

  async addDeadLetter(letter: DeadLetter): Promise<void> {
    const kv = await this.#bucket('deadletters');
    await kv.put(`${letter.group}.${letter.event.position}`, JSON.stringify(letter));
  }

  async listDeadLetters(group?: string): Promise<DeadLetter[]> {
    const kv = await this.#bucket('deadletters');
    const keys: string[] = [];
    for await (const k of await kv.keys(group === undefined ? '>' : `${group}.>`)) keys.push(k);
    const letters: DeadLetter[] = [];
    for (const k of keys) {
      const entry = await kv.get(k);
      if (entry && entry.operation === 'PUT') letters.push(entry.json<DeadLetter>());
    }
    return letters.sort((a, b) => a.event.position - b.event.position || a.group.localeCompare(b.group));
  }

  async removeDeadLetter(group: string, position: number): Promise<void> {
    const kv = await this.#bucket('deadletters');
    await kv.purge(`${group}.${position}`);
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }

  #bucket(kind: 'checkpoints' | 'deadletters'): Promise<KV> {
    let kv = this.#kv.get(kind);
    if (!kv) {
      kv = new Kvm(this.#nc).create(`${this.#stream}_${kind}`, { history: 1 }).catch((err: unknown) => {
        throw jetstreamError(err, this.location);
      });
      this.#kv.set(kind, kv);
    }
    return kv;
  }

  async #info() {
    try {
      return await this.#jsm.streams.info(this.#stream);
    } catch (err) {
      throw jetstreamError(err, this.location);
    }
  }

  /** The last event of a subject and its sequence, or undefined when the aggregate is new. */
  async #last(subject: string): Promise<{ seq: number; event: StoredEvent } | undefined> {
    let msg: StoredMsg | null;
    try {
      msg = await this.#jsm.streams.getMessage(this.#stream, { last_by_subj: subject });
    } catch (err) {
      if (isNoMessage(err)) return undefined;
      throw jetstreamError(err, this.location);
    }
    if (!msg) return undefined;
    const event = decode(msg.data, msg.seq);
    if (!event)
      throw new UsageError(
        `message ${msg.seq} on '${subject}' in stream ${this.#stream} is not an event written by comms-cli`,
      );
    return { seq: msg.seq, event };
  }

  /** The sequence of the last message on a subject (wildcards allowed), or undefined when there is none. */
  async #lastSeq(subject: string): Promise<number | undefined> {
    try {
      const msg = await this.#jsm.streams.getMessage(this.#stream, { last_by_subj: subject });
      return msg?.seq;
    } catch (err) {
      if (isNoMessage(err)) return undefined;
      throw jetstreamError(err, this.location);
    }
  }

  async #get(seq: number): Promise<StoredEvent | undefined> {
    try {
      const msg = await this.#jsm.streams.getMessage(this.#stream, { seq });
      return msg ? decode(msg.data, msg.seq) : undefined;
    } catch (err) {
      if (isNoMessage(err)) return undefined;
      throw jetstreamError(err, this.location);
    }
  }

  async #findById(aggregate: string, id: string): Promise<StoredEvent | undefined> {
    for await (const e of this.readAggregate(aggregate, 1)) if (e.id === id) return e;
    return undefined;
  }

  /**
   * Messages on `subject` from sequence `startSeq` through an ordered consumer (ephemeral, flow
   * controlled, re-created by the client on gaps). Ends at `untilSeq`, or follows until the signal.
   */
  async *#consume(
    subject: string,
    startSeq: number,
    untilSeq: number | undefined,
    follow: boolean,
    signal?: AbortSignal,
  ): AsyncIterable<StoredEvent> {
    if (signal?.aborted) return;
    const consumer = await this.#js.consumers
      .get(this.#stream, { filter_subjects: subject, opt_start_seq: Math.max(1, startSeq) })
      .catch((err: unknown) => {
        throw jetstreamError(err, this.location);
      });
    const messages = await consumer.consume({ max_messages: 256 });
    const stop = () => messages.stop();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for await (const m of messages) {
        const event = decode(m.data, m.seq);
        if (event) yield event;
        if (!follow && (m.info.pending === 0 || (untilSeq !== undefined && m.seq >= untilSeq))) break;
      }
    } finally {
      signal?.removeEventListener('abort', stop);
      messages.stop();
    }
  }
}

/**
 * A failed first connect, said as the store's: the typed error's code (COMMS_ERR_NATS_AUTH, TLS...)
 * and hint are kept, and the server is named once. Only a plain unreachable server gets the store's
 * own hint (the NATS one points at -s, which is not how a store is named).
 */
function storeConnectError(err: unknown, where: string): unknown {
  if (!(err instanceof ConnectError)) return err;
  const prefix = `cannot connect to ${where}: `;
  if (!err.message.startsWith(prefix))
    return new ConnectError(`cannot open event store: ${err.message}`, {
      cause: err,
      code: err.code,
      ...(err.hint ? { hint: err.hint } : {}),
    });
  const plain = err.code === 'COMMS_ERR_CONNECT';
  const hint = plain ? 'is nats-server (with JetStream, -js) running there?' : err.hint;
  return new ConnectError(`cannot reach event store ${where}: ${err.message.slice(prefix.length)}`, {
    cause: err,
    code: err.code,
    ...(hint ? { hint } : {}),
  });
}

/** Find or create the event stream; returns the subject prefix (`evt.<STREAM>`, or the existing stream's). */
async function ensureEventStream(
  jsm: JetStreamManager,
  stream: string,
  create: boolean,
  where: string,
): Promise<string> {
  try {
    const info = await jsm.streams.info(stream);
    const subjects = info.config.subjects ?? [];
    const wild = subjects.length === 1 ? subjects[0] : undefined;
    if (!wild?.endsWith('.>')) {
      throw new UsageError(
        `stream ${stream} is not an event stream: its subjects are ${JSON.stringify(subjects)}`,
        {
          hint: "events need one 'prefix.>' subject; name another stream with --stream",
        },
      );
    }
    return wild.slice(0, -2);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if ((err as { name?: string }).name !== 'StreamNotFoundError') throw jetstreamError(err, stream);
  }
  if (!create)
    throw new UsageError(`no event store at ${where}: stream ${stream} does not exist`, {
      code: 'COMMS_ERR_NO_STORE',
      hint: 'nothing was appended there yet (events append creates it); name another stream with --stream',
    });
  const prefix = `evt.${stream}`;
  try {
    await jsm.streams.add({
      name: stream,
      subjects: [`${prefix}.>`],
      duplicate_window: nanos(DUPLICATE_WINDOW_MS),
    });
  } catch (err) {
    // Another process created it at the same moment: use it.
    if (!/already in use/.test(String((err as Error).message))) throw jetstreamError(err, stream);
  }
  return prefix;
}

function decode(data: Uint8Array, seq: number): StoredEvent | undefined {
  try {
    const w = JSON.parse(new TextDecoder().decode(data)) as Partial<WireEvent>;
    // Field order as the embedded store writes it, so both print identically.
    const value = {
      id: w.id,
      aggregate: w.aggregate,
      type: w.type,
      version: w.version,
      position: seq,
      time: w.time,
      data: w.data,
      metadata: w.metadata ?? {},
    };
    return isStoredEvent(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  const e = err as { message?: string; api_error?: { err_code?: number } };
  return `${e?.message ?? ''}`;
}

/** The server refused a publish because the aggregate moved (JSStreamWrongLastSequence, 10071). */
function isWrongLastSequence(err: unknown): boolean {
  const code = (err as { api_error?: { err_code?: number }; code?: unknown }).api_error?.err_code;
  return code === 10071 || /wrong last sequence/i.test(errorText(err));
}

/** getMessage on a subject with no messages (JSNoMessageFound, 10037). */
function isNoMessage(err: unknown): boolean {
  const code = (err as { api_error?: { err_code?: number } }).api_error?.err_code;
  return code === 10037 || /no message found/i.test(errorText(err));
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
