import type { Channel, Client, Metadata, MetadataValue, StatusObject } from '@grpc/grpc-js';
import { formatMs } from '../../core/duration.js';
import type { TimingRecorder } from '../../core/timing.js';
import type { AttemptContext } from '../../core/transport.js';
import { abortReasonToError } from '../../errors/classify.js';
import { ConnectError, ResponseError, TimeoutError, UsageError } from '../../errors/comms-error.js';
import { isSecretHeader, REDACTED } from '../../output/redact.js';
import { ConnectProbe } from './connect-timing.js';
import { channelSetup, type GrpcSecurity } from './credentials.js';
import { withGrpcStatus } from './errors.js';
import type { MethodKind } from './schema.js';
import { normalizeCode, statusName } from './status-codes.js';
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
  /** The server answered with gRPC response headers: the call is live on its side. */
  onHeaders?(): void;
  deadlineMs: number;
  signal: AbortSignal;
  /**
   * The attempt's pooled abort callback (AttemptContext.onAbort), when it has one: used instead of an
   * `abort` listener added to and removed from `signal` on every call.
   */
  onAbort?: AttemptContext['onAbort'];
  timing?: TimingRecorder;
  /**
   * false: response headers and trailers are not copied into records (`headers`/`trailers` stay
   * empty): load mode when nothing reads them. The status details trailer is still read.
   */
  records?: boolean;
}

/** grpc-js' call object below the Client API (`Channel.createCall`): raw bytes, one read at a time. */
type RawCall = ReturnType<Channel['createCall']>;

/** Responses held while stdout is slow, before reading pauses (and HTTP/2 flow control stops the server). */
const HIGH_WATER_MESSAGES = 64;
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
const LOW_WATER_MESSAGES = 16;

/** What a call hears from grpc-js (its listener's three callbacks). */
interface CallListener {
  onReceiveMetadata(md: Metadata): void;
  onReceiveMessage(bytes: Buffer): void;
  onReceiveStatus(status: StatusObject): void;
}

/**
 * The listener handed to grpc-js: forwards to the call's own callbacks until the status, then lets
 * them go. grpc-js' finished call objects can stay reachable from old-generation garbage until the
 * next full GC (discarded hash tables of its per-transport call Set and node:http2's stream Map still
 * point at them), and through the listener they would keep the call's closures, promise and result
 * alive (promoted on every scavenge); detached, only this small object is.
 */
class Relay implements CallListener {
  #to: CallListener | undefined;

  constructor(to: CallListener) {
    this.#to = to;
  }

  onReceiveMetadata(md: Metadata): void {
    this.#to?.onReceiveMetadata(md);
  }

  onReceiveMessage(bytes: Buffer): void {
    this.#to?.onReceiveMessage(bytes);
  }

  onReceiveStatus(status: StatusObject): void {
    const to = this.#to;
    this.#to = undefined;
    to?.onReceiveStatus(status);
  }
}

/** The reason given to a stream's request reader when the call ends (allocated once). */
const CALL_ENDED = new Error('the call has ended');

/**
 * One channel to one target, and the four call shapes over it with raw bytes in and out (encoding
 * is the codec's job). Every call ends in `RawCallResult`, OK or not: a non-OK status is an answer
 * to judge (classify), not an exception. Only a local abort (Ctrl-C, --max-time) throws, and a
 * peer that breaks the protocol (not gRPC, wrong number of responses).
 *
 * Calls use grpc-js' channel call directly (below its Client wrappers): each response is read only
 * when asked for, which is how a slow stdout slows the server (backpressure), and the first
 * response frame and the message count are seen as they happen.
 */
export class GrpcConnection {
  readonly grpc: GrpcModule;
  /** The first channel (health, reflection and single calls use it). */
  readonly client: Client;
  readonly target: GrpcTarget;
  /** --cert/--key were given (for hints: never ask for a client certificate that was sent). */
  readonly clientCert: boolean;
  /** The channel speaks TLS. */
  readonly tls: boolean;
  /** Load mode's `--connections K`: K channels, each with its own HTTP/2 connection, used in turn. */
  readonly #clients: Client[];
  readonly #probe = new ConnectProbe();
  #turn = 0;

  constructor(grpc: GrpcModule, target: GrpcTarget, security: GrpcSecurity, channels = 1) {
    this.grpc = grpc;
    this.target = target;
    this.clientCert = Boolean(security.tls?.cert);
    this.tls = security.tls !== undefined;
    const { credentials, options } = channelSetup(grpc, security, target);
    this.#probe.instrument(credentials);
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

  invoke(opts: InvokeOptions): Promise<RawCallResult> {
    // --timeout 0 means no deadline (as for the other transports), not an already-passed one.
    const deadline = opts.deadlineMs > 0 ? Date.now() + opts.deadlineMs : Number.POSITIVE_INFINITY;
    const client = this.#pick();
    const channel = client.getChannel();
    const { connectivityState, status: Status } = this.grpc;
    const { timing } = opts;
    // Phases come from the connection this attempt opens (or waits for); none on an open one.
    const opening = timing !== undefined && channel.getConnectivityState(false) !== connectivityState.READY;
    if (opening) this.#probe.expect(timing);
    const single = opts.kind === 'unary' || opts.kind === 'client streaming';
    const streamsIn = opts.kind === 'client streaming' || opts.kind === 'bidi streaming';
    return new Promise<RawCallResult>((resolve, reject) => {
      let headers: MetadataRecord = {};
      let answered = false;
      let received = 0;
      let bytesIn = 0;
      let sent = 0;
      // Responses handed to an async onMessage, in order; none while every handler finished at once.
      let chain: Promise<void> | undefined;
      const records = opts.records !== false;
      let failed: unknown;
      let settled = false;
      let firstFrame = false;
      // Backpressure: responses queue here while onMessage (stdout) is slow; past the high-water mark
      // no further read is asked of grpc-js, which pauses the HTTP/2 stream (flow control does the rest).
      let queued = 0;
      let queuedBytes = 0;
      let paused = false;
      let statusSeen = false;
      // Streams only: stops reading request messages (stdin) once the call is over. Unary calls
      // skip it: an AbortController and its abort() DOMException per call are measurable under load.
      const stopRequests = streamsIn ? new AbortController() : undefined;
      const call = channel.createCall(opts.path, deadline, undefined, null, null);

      const frame = () => {
        if (firstFrame) return;
        firstFrame = true;
        timing?.markSinceStart('firstByte');
      };
      const fail = (err: unknown, code: number, details: string) => {
        failed ??= err;
        call.cancelWithStatus(code, details);
      };
      const read = () => {
        if (!statusSeen) call.startRead();
      };
      /** Queue one response's handling; read on below the high-water mark, pause above it. */
      const enqueue = (handling: Promise<void>, size: number) => {
        queued += 1;
        queuedBytes += size;
        chain = handling
          .catch((err) => fail(err, Status.CANCELLED, 'the client could not handle a response'))
          .finally(() => {
            queued -= 1;
            queuedBytes -= size;
            if (paused && queued <= LOW_WATER_MESSAGES) {
              paused = false;
              read();
            }
          });
        if (queued < HIGH_WATER_MESSAGES && queuedBytes < HIGH_WATER_BYTES) read();
        else paused = true;
      };

      const onAbort = () => call.cancelWithStatus(Status.CANCELLED, 'Cancelled on client');
      const setAbort = opts.onAbort;
      if (opts.signal.aborted) onAbort();
      else if (setAbort) setAbort(onAbort);
      else opts.signal.addEventListener('abort', onAbort, { once: true });

      call.start(
        opts.metadata,
        new Relay({
          onReceiveMetadata: (md: Metadata) => {
            frame();
            answered = true;
            if (records) headers = metadataToRecord(md);
            const type = String(md.get('content-type')[0] ?? '');
            if (!/^application\/grpc(\+|;|$)/i.test(type)) {
              const shown = type ? `content-type ${type}` : 'no content-type';
              fail(
                withGrpcStatus(
                  new ConnectError(
                    `${this.target.display} is not a gRPC server (it answered HTTP with ${shown})`,
                    {
                      code: 'COMMS_ERR_NOT_GRPC',
                      hint: 'check the port: this looks like a web server, not gRPC (gRPC answers application/grpc)',
                    },
                  ),
                  'UNKNOWN',
                ),
                Status.UNKNOWN,
                'not a gRPC server',
              );
            } else opts.onHeaders?.();
          },
          onReceiveMessage: (bytes: Buffer) => {
            frame();
            const index = received++;
            bytesIn += bytes.length;
            if (single && index >= 1) {
              // The gRPC spec: a response cardinality violation is UNIMPLEMENTED, and the call ends now.
              fail(
                withGrpcStatus(
                  new ResponseError(
                    `cardinality violation: ${opts.kind} method ${opts.path} answered with more than one message`,
                    { code: 'COMMS_ERR_GRPC_CARDINALITY' },
                  ),
                  'UNIMPLEMENTED',
                ),
                Status.UNIMPLEMENTED,
                'Too many responses received',
              );
              return;
            }
            if (queued === 0 && failed === undefined) {
              // Nothing queued before it: hand it over now; a handler that finishes synchronously (load
              // mode's wire check) costs no promise chain (three promises per message otherwise).
              let handled: Promise<void> | void;
              try {
                handled = opts.onMessage(bytes, index);
              } catch (err) {
                fail(err, Status.CANCELLED, 'the client could not handle a response');
                return;
              }
              if (handled === undefined) {
                read();
                return;
              }
              enqueue(handled, bytes.length);
              return;
            }
            enqueue(
              (chain ?? Promise.resolve()).then(() =>
                failed === undefined ? opts.onMessage(bytes, index) : undefined,
              ),
              bytes.length,
            );
          },
          onReceiveStatus: (raw: StatusObject) => {
            if (settled) return;
            settled = true;
            statusSeen = true;
            if (opening && timing) this.#probe.forget(timing);
            stopRequests?.abort(CALL_ENDED); // the call is over: stop reading request messages (stdin)
            const connected = answered || channel.getConnectivityState(false) === connectivityState.READY;
            if (setAbort) setAbort(undefined);
            else opts.signal.removeEventListener('abort', onAbort);
            const code = normalizeCode(raw.code);
            if (code === 0 && single && received === 0)
              failed ??= withGrpcStatus(
                new ResponseError(`no response message: ${opts.path} ended OK without one`, {
                  code: 'COMMS_ERR_GRPC_NO_MESSAGE',
                  hint: `a ${opts.kind} method must answer exactly one message (the server is broken)`,
                }),
                'UNIMPLEMENTED',
              );
            // A status is a first byte only when it came from the server (a trailers-only reply):
            // grpc-js' own UNAVAILABLE for a refused connection is not one.
            if (connected && (answered || code !== Status.CANCELLED)) frame();
            const finish = () => {
              timing?.markSinceStart('total');
              if (failed !== undefined) return reject(failed);
              // We cancelled it: report why (timeout or Ctrl-C), not "CANCELLED".
              if (code === Status.CANCELLED && opts.signal.aborted) {
                const err = abortReasonToError(opts.signal.reason);
                return reject(
                  err.kind === 'timeout' && !connected
                    ? new TimeoutError(`connect to ${this.target.display} ${err.message}`, {
                        code: 'COMMS_ERR_CONNECT_TIMEOUT',
                        cause: err,
                      })
                    : err,
                );
              }
              // grpc-js' own deadline (set from --timeout) can fire a moment before our abort timer of
              // the same length: before a connection it is the same connect timeout.
              if (code === Status.DEADLINE_EXCEEDED && !connected && opts.deadlineMs > 0)
                return reject(
                  new TimeoutError(
                    `connect to ${this.target.display} timed out after ${formatMs(opts.deadlineMs)} (--timeout)`,
                    { code: 'COMMS_ERR_CONNECT_TIMEOUT' },
                  ),
                );
              const bin = raw.metadata?.get(STATUS_DETAILS_KEY)[0];
              resolve({
                code,
                status: statusName(code),
                message: raw.details ?? '',
                headers,
                trailers: records ? metadataToRecord(raw.metadata) : {},
                ...(Buffer.isBuffer(bin) ? { detailsBin: bin } : {}),
                received,
                sent,
                answered,
                connected,
                bytes: bytesIn,
              });
            };
            // Every response handled synchronously (unary, load mode): settle now, no promise step.
            if (chain === undefined) finish();
            else void chain.then(finish);
          },
        }),
      );
      read();

      if (streamsIn) {
        void pump(opts.requests, call, () => sent++, (stopRequests as AbortController).signal).catch((err) =>
          fail(err, Status.CANCELLED, 'the client could not send its requests'),
        );
      } else {
        const request = first(opts.requests);
        call.sendMessageWithContext({}, request);
        call.halfClose();
        sent = 1;
      }
    });
  }

  close(): void {
    for (const client of this.#clients) client.close();
    this.#probe.closeAll();
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
  call: RawCall,
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
    // Wait until grpc-js has written it (HTTP/2 flow control): a slow server slows the reading of stdin.
    const written = new Promise<void>((resolve) =>
      call.sendMessageWithContext({ callback: () => resolve() }, next.value),
    );
    await Promise.race([written, stopped]);
    if (stop.aborted) return;
  }
  call.halfClose();
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
