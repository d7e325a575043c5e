import type { CommsError } from '../errors/comms-error.js';
import type { TimingRecorder } from './timing.js';

/**
 * Which adapter produced a result; the `transport` field of --json. An open set: a new transport
 * names itself without editing this file.
 */
export type TransportKind = string;

/** What every call carries, whatever the transport: used for the result and the breaker key. */
export interface CallBase {
  /** URL, host:port, subject... printed in results. Must already be redacted-safe or redacted later. */
  readonly target: string;
  /** `GET`, `pkg.Service/Method`, `request`... */
  readonly operation: string;
  /** Which breaker this call counts against (default: `target`). */
  readonly breakerKey?: string;
}

/** Told when an attempt's signal aborts, without being a listener on it (AttemptContext.onAbort). */
export type AbortListener = { handleEvent(): void } | (() => void);

/** Handed to `Transport.attempt` for exactly one try. */

export interface AttemptContext {
  /** Aborted on per-attempt timeout, overall --max-time, or Ctrl-C. Honour it. */
  readonly signal: AbortSignal;
  /** 1 for the first try, 2 for the first retry... */
  readonly attempt: number;
  readonly timing: TimingRecorder;
  /**
   * When present (load mode's pooled per-attempt signals): `listener` (a function, or an object's
   * `handleEvent()`) is called when `signal` aborts, during this attempt; `undefined` clears it, and
   * it is cleared anyway when the attempt ends. A transport on a hot path uses it instead of
   * add/removeEventListener on `signal`, which cost several microseconds per call on Node 20.
   */
  readonly onAbort?: (listener: AbortListener | undefined) => void;
}

/**
 * Where `Transport.attemptInto` reports the end of its one try: exactly one of the two, once, and
 * never before `attemptInto` has returned.
 */
export interface AttemptSink<R> {
  reply(reply: R): void;
  fail(error: unknown): void;
}

/** The result of one attempt, before it is judged. */
export type Outcome<R> =
  | { readonly reply: R; readonly error?: undefined }
  | { readonly error: CommsError; readonly reply?: undefined };

/** The transport's judgement of an outcome. The middleware acts on it and never guesses. */
export interface Verdict {
  /** Success for this call (e.g. HTTP status matches --expect-status, or < 400). */
  readonly ok: boolean;
  /** Worth another attempt (connection error, timeout, 429/502/503/504, UNAVAILABLE, no responders). */
  readonly retryable: boolean;
  /** A sign the peer is unhealthy: counts towards the circuit breaker. */
  readonly peerFault: boolean;
  /** The server said when to retry (Retry-After, RetryInfo); honoured up to --backoff-max. */
  readonly retryAfterMs?: number;
  /** Why it failed, for the result. Present whenever ok is false. */
  readonly error?: CommsError;
  /** Status as the contract shows it: HTTP number, gRPC status name, NATS outcome. */
  readonly status?: number | string;
}

/** Transport-specific fields of a result: headers, body, data, extra metadata. */
export type ResultFields = Record<string, unknown>;

/**
 * The one interface every adapter implements. `attempt` does exactly one try and throws only typed
 * errors (CommsError); `classify` is the only place that knows what is retryable; `describe` turns a
 * reply into the --json fields. Connection pools live inside the transport and end in `close`.
 */
export interface Transport<C extends CallBase, R> {
  readonly kind: TransportKind;
  attempt(call: C, ctx: AttemptContext): Promise<R>;
  /**
   * Optional: `attempt`, reporting to `sink` instead of returning a promise. For transports whose
   * replies arrive by callback (a socket's message event), load mode's hot path then runs from the
   * reply to the next send without a promise or a microtask per call. Same errors as `attempt`.
   */
  attemptInto?(call: C, ctx: AttemptContext, sink: AttemptSink<R>): void;
  classify(outcome: Outcome<R>, call: C): Verdict;
  describe(reply: R, call: C): ResultFields;
  /**
   * Optional: pay the client library's first-use costs (JIT of its request path, parser compilation)
   * before any clock starts, so the first measured call is not slower than the rest because of us.
   * Must not contact the call's peer. `call` is the call about to be made: a warm-up that runs the
   * same kind of call (body handling, timing hooks) leaves nothing of that first use to the clock.
   */
  warmUp?(call: C): Promise<void>;
  close(): Promise<void>;
}
