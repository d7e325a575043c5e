import { setTimeout as sleep } from 'node:timers/promises';
import { toCommsError } from '../errors/classify.js';
import { type CommsError, TimeoutError } from '../errors/comms-error.js';
import { exitCodeForKind } from '../errors/exit-codes.js';
import { backoffDelay } from '../middleware/backoff.js';
import { BreakerRegistry, type BreakerStateName } from '../middleware/breaker.js';
import { DeadlineSignals, type DerivedSignal, deadlineSignal } from '../middleware/timeout.js';
import { currentBreakerScope } from './breaker-scope.js';
import { performance } from './clock.js';
import { formatMs } from './duration.js';
import type { ResilienceOptions } from './resilience.js';
import type { AttemptRecord, Result } from './result.js';
import { type Timing, TimingRecorder } from './timing.js';
import type { AttemptContext, AttemptSink, CallBase, Outcome, Transport, Verdict } from './transport.js';

export { DEFAULT_RESILIENCE, type ResilienceOptions } from './resilience.js';

/** Typed observations of the pipeline; output subscribes, the middleware never prints. */
export interface PipelineEvents {
  onAttempt?(record: AttemptRecord, call: CallBase): void;
  onBreakerChange?(key: string, state: BreakerStateName): void;
}

/** Per-call choices of `run`. */
export interface RunOptions {
  /**
   * Fill the result's reply fields (`transport.describe`: decoded data, headers...). Load mode turns
   * this off when nothing reads them (no --json-all, no --expect-*): decoding every reply for a result
   * that is only counted was a large part of a request's CPU.
   */
  describe?: boolean;
}

/** What `run` hands back: the contract Result and, when there was one, the final reply. */
export interface CallOutcome<R> {
  result: Result;
  reply?: R;
}

interface Judged<R> {
  outcome: Outcome<R>;
  verdict: Verdict;
}

/**
 * The one call path. For each call, outermost first:
 *   1. --max-time budget (a signal covering every attempt and wait)
 *   2. retry: only when the transport's verdict says `retryable`; full-jitter backoff, the server's
 *      Retry-After/RetryInfo honoured up to --backoff-max, waits cut short by Ctrl-C or the budget
 *   3. circuit breaker per target (cockatiel), counting verdicts with `peerFault`
 *   4. per-attempt --timeout (a derived AbortSignal) around `transport.attempt`
 * and every attempt is recorded. A CallPipeline is shared by all calls of a run (load mode, dispatch),
 * so the breaker sees them all.
 *
 * The retry loop is ours rather than cockatiel's RetryPolicy: cockatiel's backoff wait cannot be
 * aborted, and Ctrl-C during a 10 s backoff must stop at once (contract: exit 130 promptly).
 */
export class CallPipeline {
  readonly options: ResilienceOptions;
  readonly #root: AbortSignal;
  readonly #events: PipelineEvents;
  readonly #breakers: BreakerRegistry | undefined;
  readonly #deadlines: DeadlineSignals;
  readonly #noBudget: DerivedSignal;
  /** Breakers borrowed from the current BreakerScope: watched while this pipeline lives, saved by the scope. */
  readonly #shared: boolean;
  readonly #unlisten: (() => void) | undefined;
  /** No retries, breaker or --max-time: a call is exactly one attempt (see `run`). */
  readonly #singleAttempt: boolean;

  constructor(options: ResilienceOptions, rootSignal: AbortSignal, events: PipelineEvents = {}) {
    this.options = options;
    this.#root = rootSignal;
    this.#deadlines = new DeadlineSignals(rootSignal);
    this.#noBudget = { signal: rootSignal, dispose: () => {} };
    this.#events = events;
    const scope = options.breakerStateFile ? undefined : currentBreakerScope();
    const wantsBreaker = options.breaker !== undefined && options.breaker > 0;
    this.#singleAttempt = options.retries === 0 && options.maxTimeMs === undefined && !wantsBreaker;
    this.#shared = wantsBreaker && scope !== undefined;
    if (this.#shared && scope && options.breaker) {
      // A step of a check: the check's breakers, so failures of earlier steps count (see BreakerScope).
      this.#breakers = scope.registry(options.breaker, options.breakerCooldownMs);
      const onChange = events.onBreakerChange;
      this.#unlisten = onChange ? this.#breakers.listen(onChange) : undefined;
      return;
    }
    this.#unlisten = undefined;
    this.#breakers =
      wantsBreaker && options.breaker
        ? new BreakerRegistry(
            {
              threshold: options.breaker,
              cooldownMs: options.breakerCooldownMs,
              ...(options.breakerStateFile ? { stateFile: options.breakerStateFile } : {}),
            },
            events.onBreakerChange,
          )
        : undefined;
  }

  get signal(): AbortSignal {
    return this.#root;
  }

  breakerState(key: string): BreakerStateName | undefined {
    return this.#breakers?.stateOf(key);
  }

  /**
   * One call through the pipeline. Without retries, a breaker or --max-time (the defaults, and most
   * load runs) there is nothing to loop over or wait for: `#once` makes the one attempt with a single
   * continuation instead of three nested async frames. At tens of thousands of calls a second those
   * frames (and their microtask hops) were a measured part of a WebSocket round trip's CPU.
   */
  run<C extends CallBase, R>(
    transport: Transport<C, R>,
    call: C,
    runOptions?: RunOptions,
  ): Promise<CallOutcome<R>> {
    if (!this.#singleAttempt) return this.#runResilient(transport, call, runOptions);
    return new Promise((resolve, reject) =>
      this.#once(transport, call, runOptions, { done: resolve, failed: reject }, undefined, false),
    );
  }

  /**
   * `run` for a caller that continues by callback (load mode's hot path): no promise of its own, and
   * one receiver object per call rather than two closures. `startedAt`: a clock reading the caller
   * just took, used as the attempt's start (one reading, not two).
   */
  runThen<C extends CallBase, R>(
    transport: Transport<C, R>,
    call: C,
    runOptions: RunOptions | undefined,
    receiver: OutcomeReceiver<R>,
    startedAt?: number,
  ): void {
    if (this.#singleAttempt) this.#once(transport, call, runOptions, receiver, startedAt, true);
    else
      this.#runResilient(transport, call, runOptions).then(
        (outcome) => receiver.done(outcome, performance.now()),
        (err: unknown) => receiver.failed(err),
      );
  }

  /** The single attempt of a call that can have no other (see `run`). */
  #once<C extends CallBase, R>(
    transport: Transport<C, R>,
    call: C,
    runOptions: RunOptions | undefined,
    receiver: OutcomeReceiver<R>,
    startedAt: number | undefined,
    viaSink: boolean,
  ): void {
    const timing = new TimingRecorder(startedAt);
    const deadline = this.#deadlines.derive(this.options.timeoutMs, '--timeout', timing.start);
    // The attempt is its own context (signal, timing, onAbort) and its transport's sink.
    const once = new SingleAttempt(this.#finishOnce, transport, call, runOptions, timing, deadline, receiver);
    // The sink only for load mode (runThen). A one-shot call keeps `attempt`: with HTTP's attemptInto
    // in its path, `-w %{time_total}` of a one-shot GET read ~0.17 ms later after the first byte
    // (30 alternating runs against the previous build), for no gain on a single call.
    if (viaSink && transport.attemptInto) {
      try {
        transport.attemptInto(call, once, once);
      } catch (err) {
        once.fail(err);
      }
      once.started();
      return;
    }
    let pending: Promise<R>;
    try {
      pending = transport.attempt(call, once);
    } catch (err) {
      pending = Promise.reject(err);
    }
    once.started();
    pending.then(
      (reply) => once.reply(reply),
      (err: unknown) => once.fail(err),
    );
  }

  /** A single attempt ended (SingleAttempt): judge it and build the call's outcome. */
  readonly #finishOnce = <C extends CallBase, R>(
    a: SingleAttempt<C, R>,
    outcome: Outcome<R>,
    end: number,
  ): CallOutcome<R> => {
    const { transport, call, timing } = a;
    timing.markTotal(end);
    const verdict = transport.classify(outcome, call);
    const record = attemptRecord(1, verdict, round(end - timing.start));
    const timingJson = timing.toJSON();
    record.timing = timingJson;
    this.#events.onAttempt?.(record, call);
    let failure = verdict.ok ? undefined : (verdict.error ?? undefined);
    // As in #runResilient: a failure without its own error, after Ctrl-C, is the interruption.
    if (!verdict.ok && failure === undefined && this.#root.aborted)
      failure = toCommsError(this.#root.reason, call.target, this.#root);
    return this.#outcome(
      transport,
      call,
      a.runOptions,
      verdict,
      outcome.reply,
      [record],
      timingJson,
      failure,
    );
  };

  async #runResilient<C extends CallBase, R>(
    transport: Transport<C, R>,
    call: C,
    runOptions: RunOptions | undefined,
  ): Promise<CallOutcome<R>> {
    const opts = this.options;
    const started = performance.now();
    // Without --max-time the budget is the root signal itself (shared: no allocation per call).
    const budget =
      opts.maxTimeMs === undefined
        ? this.#noBudget
        : deadlineSignal(this.#root, opts.maxTimeMs, '--max-time');
    const attempts: AttemptRecord[] = [];
    let last: Judged<R> | undefined;
    let lastTiming: TimingRecorder | undefined;
    /** The last attempt's timing as recorded: the result carries the same object (one copy, not two). */
    let lastTimingJson: Timing | undefined;
    let failure: CommsError | undefined;
    const breakerKey = call.breakerKey ?? call.target;
    const breaker = this.#breakers?.for(breakerKey);

    const attemptOnce = async (n: number): Promise<Judged<R>> => {
      const timing = new TimingRecorder();
      // Without --max-time the attempt derives straight from the root: use the pooled source (load mode's hot path).
      const deadline =
        budget.signal === this.#root
          ? this.#deadlines.derive(opts.timeoutMs, '--timeout')
          : deadlineSignal(budget.signal, opts.timeoutMs, '--timeout');
      const actx: AttemptContext = deadline.onAbort
        ? { signal: deadline.signal, attempt: n, timing, onAbort: deadline.onAbort }
        : { signal: deadline.signal, attempt: n, timing };
      let outcome: Outcome<R>;
      try {
        outcome = { reply: await transport.attempt(call, actx) };
      } catch (err) {
        outcome = { error: toCommsError(err, call.target, deadline.signal) };
      } finally {
        deadline.dispose();
      }
      timing.markTotal(performance.now());
      lastTiming = timing;
      return { outcome, verdict: transport.classify(outcome, call) };
    };

    try {
      for (let n = 1; ; n++) {
        const attemptStart = performance.now();
        let judged: Judged<R>;
        try {
          judged = breaker
            ? ((await breaker.execute(() => attemptOnce(n), budget.signal)) as Judged<R>)
            : await attemptOnce(n);
        } catch (err) {
          // Only the breaker throws here (open circuit, or cancelled while waiting on a half-open trial).
          failure = toCommsError(err, call.target, budget.signal);
          const record: AttemptRecord = { n, ok: false, error: brief(failure), ms: 0 };
          attempts.push(record);
          this.#events.onAttempt?.(record, call);
          break;
        }
        last = judged;
        const { verdict } = judged;
        const record = attemptRecord(n, verdict, round(performance.now() - attemptStart));
        if (lastTiming) {
          lastTimingJson = lastTiming.toJSON();
          record.timing = lastTimingJson;
        }
        attempts.push(record);
        failure = verdict.ok ? undefined : (verdict.error ?? undefined);
        if (verdict.ok || !verdict.retryable || n > opts.retries || budget.signal.aborted) {
          this.#events.onAttempt?.(record, call);
          break;
        }
        const wait = backoffDelay(n, opts.backoffMs, opts.backoffMaxMs, verdict.retryAfterMs);
        if (opts.maxTimeMs !== undefined && opts.maxTimeMs - (performance.now() - started) <= wait) {
          // The next attempt cannot start inside the budget: stop now with the budget's verdict.
          this.#events.onAttempt?.(record, call);
          const left = Math.max(0, (opts.maxTimeMs ?? 0) - (performance.now() - started));
          const asked = verdict.retryAfterMs !== undefined ? ' (the server asked for it)' : '';
          failure = new TimeoutError(
            `--max-time would pass before attempt ${n + 1}: the next wait is ${formatMs(wait)}${asked}, ${formatMs(left)} left`,
            { cause: failure },
          );
          break;
        }
        record.waitMs = wait;
        this.#events.onAttempt?.(record, call);
        try {
          await sleep(wait, undefined, { signal: budget.signal });
        } catch {
          failure = toCommsError(budget.signal.reason, call.target, budget.signal);
          break;
        }
      }
    } finally {
      budget.dispose();
    }

    if (budget.signal.aborted && failure === undefined && !last?.verdict.ok) {
      failure = toCommsError(budget.signal.reason, call.target, budget.signal);
    }
    return this.#outcome(
      transport,
      call,
      runOptions,
      last?.verdict,
      last?.outcome.reply,
      attempts,
      lastTimingJson,
      failure,
    );
  }

  /** The contract Result of a finished call (and its reply): the same for both paths of `run`. */
  #outcome<C extends CallBase, R>(
    transport: Transport<C, R>,
    call: C,
    runOptions: RunOptions | undefined,
    verdict: Verdict | undefined,
    reply: R | undefined,
    attempts: AttemptRecord[],
    lastTimingJson: Timing | undefined,
    failure: CommsError | undefined,
  ): CallOutcome<R> {
    const ok = failure === undefined && verdict?.ok === true;
    // Fields assigned in the contract's order (the --json key order), without a spread per optional field.
    const result: Result = {
      transport: transport.kind,
      target: call.target,
      operation: call.operation,
      ok,
      exit: ok ? 0 : exitCodeForKind(failure?.kind ?? 'response'),
    } as Result;
    if (verdict?.status !== undefined) result.status = verdict.status;
    if (failure) result.error = failure.toJSON();
    result.attempts = attempts;
    if (lastTimingJson && verdict) result.timing = lastTimingJson;
    if (reply !== undefined && runOptions?.describe !== false)
      Object.assign(result, transport.describe(reply, call));
    return reply !== undefined ? { result, reply } : { result };
  }

  /** Persist breaker state (--breaker-state). Call once when the run ends. */
  async close(): Promise<void> {
    this.#deadlines.dispose();
    this.#unlisten?.();
    if (!this.#shared) await this.#breakers?.persist();
  }
}

/** An attempt's record: n, ok, status?, error?, ms in that order (the --json key order), no spreads. */
function attemptRecord(n: number, verdict: Verdict, ms: number): AttemptRecord {
  const { ok, status, error } = verdict;
  if (status !== undefined) return error ? { n, ok, status, error: brief(error), ms } : { n, ok, status, ms };
  return error ? { n, ok, error: brief(error), ms } : { n, ok, ms };
}

function brief(err: CommsError): { kind: CommsError['kind']; message: string } {
  return { kind: err.kind, message: err.message };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

type FinishOnce = <C extends CallBase, R>(
  a: SingleAttempt<C, R>,
  outcome: Outcome<R>,
  end: number,
) => CallOutcome<R>;

/**
 * Where `runThen` reports a call: its outcome with the clock reading at which it ended, or a bug (a
 * transport's classify or describe throwing).
 */
export interface OutcomeReceiver<R> {
  done(outcome: CallOutcome<R>, endedAt: number): void;
  failed(err: unknown): void;
}

/**
 * One call's single attempt in flight: the context its transport is given (AttemptContext) and the
 * sink it reports to (AttemptSink), one object per call. Hands the judged outcome to the receiver.
 * A transport that settles before `attemptInto` returns is deferred a microtask, so a caller that
 * starts its next call from `done` never recurses.
 */
class SingleAttempt<C extends CallBase, R> implements AttemptSink<R>, AttemptContext {
  readonly attempt = 1;
  readonly signal: AbortSignal;
  readonly onAbort: AttemptContext['onAbort'];
  #starting = true;
  #settled = false;

  constructor(
    readonly finish: FinishOnce,
    readonly transport: Transport<C, R>,
    readonly call: C,
    readonly runOptions: RunOptions | undefined,
    readonly timing: TimingRecorder,
    readonly deadline: DerivedSignal,
    readonly receiver: OutcomeReceiver<R>,
  ) {
    this.signal = deadline.signal;
    this.onAbort = deadline.onAbort;
  }

  started(): void {
    this.#starting = false;
  }

  reply(reply: R): void {
    this.#settle({ reply });
  }

  fail(err: unknown): void {
    this.#settle({ error: toCommsError(err, this.call.target, this.deadline.signal) });
  }

  #settle(outcome: Outcome<R>): void {
    if (this.#settled) return;
    this.#settled = true;
    this.deadline.dispose();
    const end = performance.now();
    if (this.#starting) {
      queueMicrotask(() => this.#judge(outcome, end));
      return;
    }
    this.#judge(outcome, end);
  }

  #judge(outcome: Outcome<R>, end: number): void {
    let judged: CallOutcome<R>;
    try {
      judged = this.finish(this, outcome, end);
    } catch (err) {
      this.receiver.failed(err);
      return;
    }
    this.receiver.done(judged, end);
  }
}
