import { performance } from 'node:perf_hooks';
import type { Client, Metadata, MetadataValue, ServiceError, StatusObject } from '@grpc/grpc-js';
import type { TimingRecorder } from '../../core/timing.js';
import { abortReasonToError } from '../../errors/classify.js';
import { UsageError } from '../../errors/comms-error.js';
import { isSecretHeader, REDACTED } from '../../output/redact.js';
import { channelSetup, type GrpcSecurity } from './credentials.js';
import type { MethodKind } from './schema.js';
import { statusName } from './status-codes.js';
import { STATUS_DETAILS_KEY } from './status-details.js';
import type { GrpcTarget } from './target.js';

export type GrpcModule = typeof import('@grpc/grpc-js');

/** Metadata as results show it: lowercase keys, `-bin` values base64. */
export type MetadataRecord = Record<string, string | string[]>;

/** What one finished call produced, whatever its kind. */
export interface RawCallResult {
  code: number;
  status: string;
  message: string;
  headers: MetadataRecord;
  trailers: MetadataRecord;
  /** The raw status-details trailer (STATUS_DETAILS_KEY), when the server sent one. */
  detailsBin?: Buffer;
  /** Response messages received (all kinds). */
  received: number;
  /** Request messages sent. */
  sent: number;
  /** Response headers arrived: a connection was made and the server answered. */
  answered: boolean;
  /**
   * The server was reached: it answered with headers, or the channel was READY when the status came
   * (a trailers-only reply carries no headers). False: the status is grpc-js' own (no connection).
   */
  connected: boolean;
  /** Bytes of response messages received. */
  bytes: number;
}

export interface InvokeOptions {
  kind: MethodKind;
  path: string;
  metadata: Metadata;
  /** Encoded request messages; for unary/server streaming exactly one. */
  requests: AsyncIterable<Buffer> | Iterable<Buffer>;
  /** Called for each response message in order, before the next is read (backpressure). */
  onMessage(bytes: Buffer, index: number): Promise<void> | void;
  deadlineMs: number;
  signal: AbortSignal;
  timing?: TimingRecorder;
}

const identity = (b: Buffer): Buffer => b;

/**
 * One channel to one target, and the four call shapes over it with raw bytes in and out (encoding
 * is the codec's job). Every call ends in `RawCallResult`, OK or not: a non-OK status is an answer
 * to judge (classify), not an exception. Only a local abort (Ctrl-C, --max-time) throws.
 */
/** The reason given to a stream's request reader when the call ends (allocated once). */
const CALL_ENDED = new Error('the call has ended');

export class GrpcConnection {
  readonly grpc: GrpcModule;
  /** The first channel (health, reflection and single calls use it). */
  readonly client: Client;
  readonly target: GrpcTarget;
  /** Load mode's `--connections K`: K channels, each with its own HTTP/2 connection, used in turn. */
  readonly #clients: Client[];
  #turn = 0;

  constructor(grpc: GrpcModule, target: GrpcTarget, security: GrpcSecurity, channels = 1) {
    this.grpc = grpc;
    this.target = target;
    const { credentials, options } = channelSetup(grpc, security, target);
    // grpc-js shares a connection between channels with equal options; a distinct option per channel
    // gives each its own, so the load spreads over K connections.
    this.#clients = Array.from(
      { length: Math.max(1, channels) },
      (_, i) =>
        new grpc.Client(target.address, credentials, i === 0 ? options : { ...options, 'comms.channel': i }),
    );
    this.client = this.#clients[0] as Client;
  }

  #pick(): Client {
    if (this.#clients.length === 1) return this.client;
    this.#turn = (this.#turn + 1) % this.#clients.length;
    return this.#clients[this.#turn] as Client;
  }

  /** Metadata from `-H 'key: value'` pairs; `-bin` keys carry base64. */
  metadataFrom(pairs: ReadonlyArray<[string, string]>): Metadata {
    const md = new this.grpc.Metadata();
    for (const [rawKey, value] of pairs) {
      const key = rawKey.toLowerCase();
      if (key.endsWith('-bin')) {
        if (!/^[A-Za-z0-9+/\-_]*={0,2}$/.test(value))
          throw new UsageError(`metadata '${key}' must be base64 (it ends in -bin)`);
        md.add(key, Buffer.from(value, 'base64'));
      } else {
        try {
          md.add(key, value);
        } catch (err) {
          // Never echo a secret's value (authorization, tokens...), not even in an error.
          const shown = isSecretHeader(key) ? REDACTED : value;
          const why = (err as Error).message.split(value).join(shown);
          throw new UsageError(`invalid metadata -H '${rawKey}: ${shown}': ${why}`);
        }
      }
    }
    return md;
  }

  /** Record `connect` when this call has to open the connection (absent when it was already up). */
  #trackConnect(client: Client, timing: TimingRecorder | undefined, deadline: number): void {
    if (!timing) return;
    const channel = client.getChannel();
    const { connectivityState } = this.grpc;
    let state = channel.getConnectivityState(true);
    if (state === connectivityState.READY) return;
    const watch = () => {
      channel.watchConnectivityState(state, deadline, (err?: Error) => {
        if (err) return;
        state = channel.getConnectivityState(false);
        if (state === connectivityState.READY) timing.set('connect', performance.now() - timing.start);
        else if (state !== connectivityState.SHUTDOWN && state !== connectivityState.TRANSIENT_FAILURE)
          watch();
      });
    };
    watch();
  }

  invoke(opts: InvokeOptions): Promise<RawCallResult> {
    // --timeout 0 means no deadline (as for the other transports), not an already-passed one.
    const deadline = opts.deadlineMs > 0 ? Date.now() + opts.deadlineMs : Number.POSITIVE_INFINITY;
    const c = this.#pick();
    this.#trackConnect(c, opts.timing, deadline);
    return new Promise<RawCallResult>((resolve, reject) => {
      let headers: MetadataRecord = {};
      let answered = false;
      let received = 0;
      let bytesIn = 0;
      let sent = 0;
      let chain: Promise<void> = Promise.resolve();
      let failed: unknown;
      let settled = false;
      const callOptions = { deadline };
      // Streams only: stops reading request messages (stdin) once the call is over. Unary calls
      // skip it: an AbortController and its abort() DOMException per call are measurable under load.
      let stopRequests: AbortController | undefined;

      const onResponse = (bytes: Buffer) => {
        if (received === 0) opts.timing?.markSinceStart('firstByte');
        const index = received++;
        bytesIn += bytes.length;
        chain = chain
          .then(() => opts.onMessage(bytes, index))
          .catch((err) => {
            failed ??= err;
          });
      };
      const unaryCallback = (err: ServiceError | null, value?: Buffer) => {
        if (!err && value) onResponse(value);
      };

      type AnyCall = NodeJS.EventEmitter & { cancel(): void };
      let call: AnyCall;
      switch (opts.kind) {
        case 'unary':
          call = c.makeUnaryRequest(
            opts.path,
            identity,
            identity,
            first(opts.requests),
            opts.metadata,
            callOptions,
            unaryCallback,
          );
          sent = 1;
          break;
        case 'server streaming': {
          const s = c.makeServerStreamRequest(
            opts.path,
            identity,
            identity,
            first(opts.requests),
            opts.metadata,
            callOptions,
          );
          // Flowing mode, never paused: every message is delivered before the status event (a paused
          // stream would still hold messages when a non-OK status destroys it).
          s.on('data', onResponse);
          s.on('error', () => {}); // the status event carries the outcome
          call = s;
          sent = 1;
          break;
        }
        case 'client streaming': {
          const s = c.makeClientStreamRequest(
            opts.path,
            identity,
            identity,
            opts.metadata,
            callOptions,
            unaryCallback,
          );
          call = s;
          stopRequests = new AbortController();
          void pump(opts.requests, s, () => sent++, stopRequests.signal).catch((err) => {
            failed ??= err;
            s.cancel();
          });
          break;
        }
        case 'bidi streaming': {
          const s = c.makeBidiStreamRequest(opts.path, identity, identity, opts.metadata, callOptions);
          // Flowing mode, never paused: every message is delivered before the status event (a paused
          // stream would still hold messages when a non-OK status destroys it).
          s.on('data', onResponse);
          s.on('error', () => {});
          call = s;
          stopRequests = new AbortController();
          void pump(opts.requests, s, () => sent++, stopRequests.signal).catch((err) => {
            failed ??= err;
            s.cancel();
          });
          break;
        }
      }

      const onAbort = () => call.cancel();
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });

      call.on('metadata', (md: Metadata) => {
        answered = true;
        headers = metadataToRecord(md);
      });
      call.on('status', (status: StatusObject) => {
        if (settled) return;
        settled = true;
        stopRequests?.abort(CALL_ENDED); // the call is over: stop reading request messages (stdin)
        const connected =
          answered || c.getChannel().getConnectivityState(false) === this.grpc.connectivityState.READY;
        opts.signal.removeEventListener('abort', onAbort);
        void chain.then(() => {
          opts.timing?.markSinceStart('total');
          if (failed !== undefined) return reject(failed);
          // We cancelled it: report why (timeout or Ctrl-C), not "CANCELLED".
          if (status.code === this.grpc.status.CANCELLED && opts.signal.aborted)
            return reject(abortReasonToError(opts.signal.reason));
          const bin = status.metadata?.get(STATUS_DETAILS_KEY)[0];
          resolve({
            code: status.code,
            status: statusName(status.code),
            message: status.details ?? '',
            headers,
            trailers: metadataToRecord(status.metadata),
            ...(Buffer.isBuffer(bin) ? { detailsBin: bin } : {}),
            received,
            sent,
            answered,
            connected,
            bytes: bytesIn,
          });
        });
      });
    });
  }

  close(): void {
    for (const client of this.#clients) client.close();
  }
}

function first(requests: AsyncIterable<Buffer> | Iterable<Buffer>): Buffer {
  if (Symbol.iterator in requests) {
    for (const r of requests as Iterable<Buffer>) return r;
  }
  throw new UsageError('this method takes exactly one request message');
}

/**
 * Write request messages as they become available (stdin, a file), then half-close. Stops as soon as
 * `stop` fires (the call ended with a status): a writer still holding stdin open must not keep the
 * call, or the process, alive. Whoever owns the source closes it.
 */
async function pump(
  requests: AsyncIterable<Buffer> | Iterable<Buffer>,
  stream: import('node:stream').Writable,
  onSent: () => void,
  stop: AbortSignal,
): Promise<void> {
  const it =
    Symbol.asyncIterator in requests
      ? (requests as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
      : (requests as Iterable<Buffer>)[Symbol.iterator]();
  const stopped = new Promise<'stop'>((resolve) => {
    if (stop.aborted) resolve('stop');
    else stop.addEventListener('abort', () => resolve('stop'), { once: true });
  });
  for (;;) {
    const next = await Promise.race([it.next(), stopped]);
    if (next === 'stop') return;
    if (next.done) break;
    onSent();
    if (!stream.write(next.value))
      await Promise.race([new Promise<void>((r) => stream.once('drain', () => r())), stopped]);
    if (stop.aborted) return;
  }
  stream.end();
}

/** Metadata as a plain record for output: `-bin` values in base64, repeated keys as arrays. */
export function metadataToRecord(md: Metadata | undefined): MetadataRecord {
  const out: MetadataRecord = {};
  if (!md) return out;
  for (const [key, values] of Object.entries(md.getMap())) {
    void values;
    const all = md
      .get(key)
      .map((v: MetadataValue) => (Buffer.isBuffer(v) ? v.toString('base64') : String(v)));
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}
