import { setMaxListeners } from 'node:events';
import { performance } from '../core/clock.js';
import { formatMs } from '../core/duration.js';
import { applyChecks } from '../core/expect.js';
import type { Result } from '../core/result.js';
import type { CallOutcome, OutcomeReceiver, RunOptions } from '../core/run-call.js';
import type { CallBase } from '../core/transport.js';
import { toCommsError } from '../errors/classify.js';
import { type ExitCode, exitCodeForKind } from '../errors/exit-codes.js';
import { redactUrl } from '../output/redact.js';
import { evaluateGates } from './gates.js';
import type { LoadPlan } from './plan.js';
import { describePlan, progressLine } from './report.js';
import { finishIntervals, IntervalRecorder } from './series.js';
import { currentShare } from './share.js';
import { LoadStats } from './stats.js';
import { emitSummary, judge, type LoadSummary } from './summary.js';
import type { LoadSpec } from './types.js';

const INTERVAL_MS = 1000;

const PROGRESS_EVERY_MS = 250;

export type { LoadSummary } from './summary.js';

interface Phase {
  warmup: boolean;
  /** Measured phase: per-second points (the report's series). */
  intervals?: IntervalRecorder;
  requests?: number;
  durationMs?: number;
  stats: LoadStats;
  /** Open loop: scheduled calls that could not start before the end of --duration. */
  notSent?: number;
}

/**
 * Load mode: many calls through the same CallPipeline as one call, so retries, timeouts and the
 * breaker behave exactly as they do for a single call.
 *
 * - Closed loop (default): `-c` workers, each starting its next call when the last one ends;
 *   latency is measured from the call's actual start.
 * - Open loop (`--rate`): call i is due at t0 + i/rate whatever happened before; latency is measured
 *   from that *scheduled* time, so a stalled server (or a saturated client) shows up as latency
 *   instead of silently lowering the request rate (coordinated omission corrected, as wrk2 does).
 *   `-c` caps the calls in flight (default 1000); due calls beyond it wait, and that wait counts.
 *
 * Per-call results are folded into counters and one HDR histogram and then dropped: memory stays
 * flat however many calls run. Ctrl-C stops scheduling, lets the aborted in-flight calls settle and
 * still prints the summary (exit 130).
 *
 * Exit code: 130 when interrupted; else 1 when a gate missed; else 0 when `--max-error-rate` was
 * given and held (errors within the budget are accepted); else 0 when every call succeeded, or the
 * worst failure's code (e.g. 4 when some calls timed out) — the same codes as one call.
 * @returns the exit code; never sets process.exitCode.
 */
export async function runLoad<C extends CallBase, R>(spec: LoadSpec<C, R>): Promise<ExitCode> {
  // Client libraries build Error objects eagerly on every call to keep async stacks (nats.js makes a
  // RequestError and a TimeoutError per request: ~25% of the CPU of a request run). Stack traces are
  // shown only with --debug, so load mode does not capture them otherwise.
  const stackLimit = Error.stackTraceLimit;
  if (!spec.output.options.debug) Error.stackTraceLimit = 0;
  try {
    return await runLoadWith(spec);
  } finally {
    Error.stackTraceLimit = stackLimit;
  }
}

async function runLoadWith<C extends CallBase, R>(spec: LoadSpec<C, R>): Promise<ExitCode> {
  const plan = spec.plan;
  const share = currentShare();
  const { output } = spec;
  // A worker's share also stops when the coordinator says so; the root signal (Ctrl-C) still counts.
  const signal = share ? AbortSignal.any([spec.signal, share.stop]) : spec.signal;
  // With --max-time each call in flight listens on the root signal (and breaker waits may too):
  // that many listeners is by design, not a leak.
  setMaxListeners(Math.max(10, plan.concurrency * 2 + 10), spec.signal);
  setMaxListeners(Math.max(10, plan.concurrency * 2 + 10), signal);
  const sample = spec.makeCall(1);
  const what = `${sample.operation} ${output.options.showSecrets ? sample.target : redactUrl(sample.target)}`;
  output.info(output.c.dim(describePlan(plan, what)));
  if (share?.startAt !== undefined) await waitUntil(share.startAt, signal);
  share?.onStart?.({ warmup: plan.warmupMs > 0 });

  const halt = new AbortController();
  const ctx: RunContext<C, R> = {
    spec: { ...spec, signal },
    plan,
    seq: 0,
    fatal: undefined,
    transportKind: undefined,
    halt: halt.signal,
    abortedBy: undefined,
    inFlight: 0,
    // The result's reply fields are read only by --expect-* checks and --json-all's per-call lines.
    runOptions: { describe: plan.jsonAll || spec.checks.length > 0 },
  };
  if (plan.warmupMs > 0 && !signal.aborted) {
    await runPhase(ctx, { warmup: true, durationMs: plan.warmupMs, stats: new LoadStats() });
  }
  // One histogram insert per call: the intervals (the report's series) add up into the totals.
  const stats = new LoadStats({ latencyByIntervals: true });
  const startedAt = Date.now();
  const started = performance.now();
  const intervals = new IntervalRecorder(startedAt, stats.histogram);
  const measured: Phase = {
    warmup: false,
    ...(plan.requests !== undefined ? { requests: plan.requests } : {}),
    ...(plan.durationMs !== undefined ? { durationMs: plan.durationMs } : {}),
    stats,
    intervals,
  };
  if (!signal.aborted && ctx.fatal === undefined) {
    await runPhase(ctx, measured, () => {
      const point = intervals.rotate();
      share?.onInterval?.(point, { requests: stats.requests, errors: stats.errors });
      if (plan.abortOnFail && ctx.abortedBy === undefined) {
        const failed = failingGate(plan, stats, performance.now() - started);
        if (failed) {
          ctx.abortedBy = failed;
          halt.abort();
        }
      }
    });
  }
  const notSent = measured.notSent ?? 0;
  const elapsed = performance.now() - started;
  const endedAt = Date.now();
  if (ctx.fatal !== undefined) throw ctx.fatal;
  const drain = ctx.drain;
  const last = finishIntervals(intervals, endedAt);
  share?.onInterval?.(last.point, stats, last.replaced);

  const totals = stats.totals(elapsed);
  const reason = signal.reason as { code?: unknown } | undefined;
  const verdict = judge(totals, {
    gates: plan.gates,
    interrupted: signal.aborted ? (typeof reason?.code === 'string' ? { code: reason.code } : {}) : undefined,
    worstExit: stats.worstExit(),
    abortedBy: ctx.abortedBy,
    abandoned: drain?.notCompleted,
  });
  const summary: LoadSummary = {
    type: 'summary',
    // From the first finished call (a transport may report another kind); else the transport's own.
    transport: ctx.transportKind ?? spec.transport.kind,
    target: sample.target,
    operation: sample.operation,
    ok: verdict.exit === 0,
    exit: verdict.exit,
    mode: plan.rate !== undefined ? 'open' : 'closed',
    concurrency: plan.concurrency,
    ...(plan.rate !== undefined ? { rate: plan.rate } : {}),
    warmupMs: plan.warmupMs,
    ...totals,
    ...(notSent > 0 ? { notSent } : {}),
    ...(drain && drain.inFlight > 0 ? { drain } : {}),
    gates: verdict.gates,
    ...(verdict.error ? { error: verdict.error } : {}),
    startedAt: new Date(startedAt).toISOString(),
    endedAt: new Date(endedAt).toISOString(),
    histogram: stats.histogram.encode(),
    series: intervals.points,
    ...(spec.connections ? { connections: spec.connections() } : {}),
  };
  share?.onSummary(summary);
  await emitSummary(output, summary, {
    json: output.options.json || plan.jsonAll,
    histogram: stats.histogram,
    firstErrors: stats.firstErrors(),
  });
  // Worth a line when the wait after --duration was noticeable (a slow endpoint), or calls were cut off.
  if (
    !output.options.json &&
    drain &&
    drain.inFlight > 0 &&
    (drain.waitedMs >= 100 || drain.notCompleted > 0)
  )
    output.info(drainLine(drain, plan));
  if (notSent > 0)
    output.info(
      `${output.c.yellow('warning:')} ${notSent.toLocaleString('en-US')} call(s) due before the end of --duration could not start in time (--rate ${plan.rate} outpaced the client or -c ${plan.concurrency}): not sent`,
    );
  if (plan.reports.length > 0) {
    const { writeReports } = await import('./reports.js');
    await writeReports(plan.reports, summary, output);
  }
  return verdict.exit;
}

/** --abort-on-fail: the first upper-bound gate (p99, p50, error rate) the running totals already miss. */
function failingGate(plan: LoadPlan, stats: LoadStats, elapsedMs: number): string | undefined {
  const upper = plan.gates.filter((g) => g.bound === 'max');
  if (upper.length === 0 || stats.requests === 0) return undefined;
  return evaluateGates(upper, stats.totals(elapsedMs)).find((g) => !g.ok)?.message;
}

/** Sleep until an epoch-ms instant (the agreed start of a distributed run), or until aborted. */
function waitUntil(epochMs: number, signal: AbortSignal): Promise<void> {
  const wait = epochMs - Date.now();
  if (wait <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, wait);
    signal.addEventListener('abort', done, { once: true });
  });
}

interface RunContext<C extends CallBase, R> {
  spec: LoadSpec<C, R>;
  plan: LoadPlan;
  /** Last sequence number handed out ({{seq}} keeps counting through warm-up). */
  seq: number;
  /** An error that must stop the run (a template failing in makeCall): rethrown after draining. */
  fatal: unknown;
  transportKind: Result['transport'] | undefined;
  /** Aborted by --abort-on-fail: stops the measured phase like a deadline. */
  halt: AbortSignal;
  abortedBy: string | undefined;
  /** Calls of the measured phase in flight now (for the drain after --duration). */
  inFlight: number;
  readonly runOptions: RunOptions;
  /**
   * With --drain-timeout, the measured calls in flight: those still here when it runs out are
   * abandoned (see CallInFlight.abandon). A set of the calls in flight, not a promise every call
   * races: that kept one reaction per call of the whole run until the end.
   */
  abandonable?: Set<CallInFlight<C, R>>;
  drain?: Drain;
}

/** What happened after --duration ended (see runPhase). */
export interface Drain {
  inFlight: number;
  waitedMs: number;
  notCompleted: number;
}

/** The summary's line about the wait after --duration. */
function drainLine(drain: Drain, plan: LoadPlan): string {
  const duration = plan.durationMs !== undefined ? `--duration ${formatMs(plan.durationMs)}` : 'the run';
  const waited = `${duration} ended with ${drain.inFlight} call(s) in flight; waited ${formatMs(drain.waitedMs)} for them`;
  if (drain.notCompleted > 0)
    return `${waited}, then aborted ${drain.notCompleted} at --drain-timeout ${formatMs(plan.drainTimeoutMs ?? 0)} (not completed, not counted)`;
  return plan.drainTimeoutMs === undefined ? `${waited} (bound the wait with --drain-timeout <dur>)` : waited;
}

/**
 * One call, measured from `startAt` (the scheduled start in an open loop), or in a closed loop
 * (`startAt` undefined) from a clock reading taken once `makeCall` has built it, which is also the
 * attempt's start: one reading, not two. Folded into the stats when it ends, then `done()`. Never
 * throws: a failing pipeline becomes a failed result. Continuations rather than an async function:
 * the pipeline reports to the call's CallInFlight (runThen), not through an async frame per level
 * with a microtask hop each. With --drain-timeout the call is kept in `ctx.abandonable` meanwhile.
 */
function startCall<C extends CallBase, R>(
  ctx: RunContext<C, R>,
  phase: Phase,
  startAt: number | undefined,
  done: () => void,
): void {
  const { spec } = ctx;
  const seq = ++ctx.seq;
  let call: C;
  try {
    call = spec.makeCall(seq);
  } catch (err) {
    ctx.fatal ??= err;
    done();
    return;
  }
  ctx.inFlight += 1;
  const measuredFrom = startAt ?? performance.now();
  const inFlight = new CallInFlight(ctx, phase, seq, measuredFrom, call, done);
  ctx.abandonable?.add(inFlight);
  try {
    spec.pipeline.runThen(
      spec.transport,
      call,
      ctx.runOptions,
      inFlight,
      startAt === undefined ? measuredFrom : undefined,
    );
  } catch (err) {
    inFlight.failed(err);
  }
}

/** A measured call in flight: where the pipeline reports it (one object per call, no closures). */
class CallInFlight<C extends CallBase, R> implements OutcomeReceiver<R> {
  /** Reported, or abandoned at --drain-timeout: whatever comes later is ignored. */
  #over = false;

  constructor(
    readonly ctx: RunContext<C, R>,
    readonly phase: Phase,
    readonly seq: number,
    readonly startAt: number,
    readonly call: C,
    readonly next: () => void,
  ) {}

  done(outcome: CallOutcome<R>, endedAt: number): void {
    if (!this.#end()) return;
    finishCall(this, outcome.result, outcome.reply, endedAt);
  }

  /**
   * --drain-timeout ran out with this call still running: counted as not completed, never as a
   * result (the transport's close aborts it; its report, if any, is ignored).
   */
  abandon(): void {
    if (!this.#end()) return;
    if (this.ctx.drain) this.ctx.drain.notCompleted += 1;
    this.next();
  }

  /** The first end of this call (a report or the abandonment); false for any later one. */
  #end(): boolean {
    if (this.#over) return false;
    this.#over = true;
    this.ctx.inFlight -= 1;
    this.ctx.abandonable?.delete(this);
    return true;
  }

  /** The pipeline turns transport failures into results; this is a bug in classify/describe. Count it. */
  failed(err: unknown): void {
    if (!this.#end()) return;
    const { ctx, call } = this;
    const spec = ctx.spec;
    const e = toCommsError(err, call.target, spec.signal);
    const result: Result = {
      transport: spec.transport.kind,
      target: call.target,
      operation: call.operation,
      ok: false,
      exit: exitCodeForKind(e.kind),
      error: e.toJSON(),
      attempts: [],
    };
    finishCall(this, result, undefined, performance.now());
  }
}

/** Fold a finished call into the phase's figures (and --json-all's line), then the worker's next. */
function finishCall<C extends CallBase, R>(
  running: CallInFlight<C, R>,
  result: Result,
  reply: R | undefined,
  endedAt: number,
): void {
  const { ctx, phase, next: done } = running;
  const { spec } = ctx;
  const latencyMs = endedAt - running.startAt;
  let bytes = 0;
  try {
    if (spec.replyBytes && reply !== undefined) bytes = spec.replyBytes(reply);
    if (spec.checks.length > 0) applyChecks(result, spec.checks, reply);
  } catch (err) {
    // A bug, not a result: stop the run and report it (after the calls in flight settle).
    ctx.fatal ??= err;
    done();
    return;
  }
  ctx.transportKind ??= result.transport;
  phase.stats.record(result, latencyMs, bytes);
  const counted = result.error?.kind !== 'interrupted';
  if (phase.intervals && counted) phase.intervals.record(latencyMs, result.ok);
  if (!ctx.plan.jsonAll || phase.warmup || !counted) {
    done();
    return;
  }
  // --json-all: the next call waits for this line to be written (stdout's backpressure).
  spec.output
    .json({ type: 'call', seq: running.seq, latencyMs: Math.round(latencyMs * 1000) / 1000, ...result })
    .then(done, (err: unknown) => {
      ctx.fatal ??= err;
      done();
    });
}

/** Run one phase (warm-up or measured) to its end: count, duration or Ctrl-C, then drain. */
async function runPhase<C extends CallBase, R>(
  ctx: RunContext<C, R>,
  phase: Phase,
  everySecond?: () => void,
): Promise<void> {
  const { spec, plan } = ctx;
  const t0 = performance.now();
  const state: StopState = { stopped: false };
  const stop = () => {
    state.stopped = true;
    state.wake?.();
  };
  spec.signal.addEventListener('abort', stop, { once: true });
  ctx.halt.addEventListener('abort', stop, { once: true });
  const ticker = everySecond ? setInterval(everySecond, INTERVAL_MS) : undefined;
  // Closed loop: the deadline stops new calls. Open loop: the schedule itself ends at the deadline
  // (see openLoop), so calls already due but queued behind the in-flight cap are still sent.
  const deadline =
    phase.durationMs !== undefined && plan.rate === undefined
      ? setTimeout(stop, phase.durationMs)
      : undefined;
  const progress = startProgress(ctx, phase, t0);
  // When --duration ends, the calls still in flight are waited for (and said so in the summary);
  // --drain-timeout bounds that wait.
  let endedAt: number | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  const measuredEnd = phase.durationMs !== undefined && !phase.warmup;
  // The measured calls in flight (kept from the first), abandoned at --drain-timeout.
  const abandonable =
    measuredEnd && plan.drainTimeoutMs !== undefined ? new Set<CallInFlight<C, R>>() : undefined;
  if (abandonable) ctx.abandonable = abandonable;
  const ended = measuredEnd
    ? setTimeout(() => {
        endedAt = performance.now();
        ctx.drain = { inFlight: ctx.inFlight, waitedMs: 0, notCompleted: 0 };
        if (abandonable && plan.drainTimeoutMs !== undefined)
          drainTimer = setTimeout(() => {
            for (const running of [...abandonable]) running.abandon();
          }, plan.drainTimeoutMs);
      }, phase.durationMs)
    : undefined;
  try {
    if (plan.rate !== undefined) await openLoop(ctx, phase, plan.rate, t0, state);
    else await closedLoop(ctx, phase, state);
  } finally {
    if (ended) clearTimeout(ended);
    if (drainTimer) clearTimeout(drainTimer);
    if (ctx.drain && endedAt !== undefined) ctx.drain.waitedMs = Math.round(performance.now() - endedAt);
    if (deadline) clearTimeout(deadline);
    if (ticker) clearInterval(ticker);
    spec.signal.removeEventListener('abort', stop);
    ctx.halt.removeEventListener('abort', stop);
    progress?.stop();
  }
}

interface StopState {
  stopped: boolean;
  /** Called on stop, so a waiting scheduler notices at once. */
  wake?: () => void;
}

async function closedLoop<C extends CallBase, R>(
  ctx: RunContext<C, R>,
  phase: Phase,
  state: StopState,
): Promise<void> {
  const limit = phase.requests ?? Number.POSITIVE_INFINITY;
  let issued = 0;
  /** One of the -c workers: starts its next call when the last one is done, until the phase ends. */
  const worker = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const next = (): void => {
        if (state.stopped || issued >= limit || ctx.fatal !== undefined) {
          resolve();
          return;
        }
        issued += 1;
        startCall(ctx, phase, undefined, next);
      };
      next();
    });
  const workers = Math.min(ctx.plan.concurrency, limit);
  await Promise.all(Array.from({ length: workers }, worker));
}

/**
 * Open loop: call i (0-based) is due at t0 + i/rate. A timer wakes at the next due time and starts
 * every call that is due, up to the in-flight cap; a finishing call lets an overdue one start. Every
 * call scheduled inside the phase is sent (by count, or scheduled before the end of --duration), so
 * a queue built up during a stall is measured, not dropped, as long as it can start before the end
 * of --duration: calls still waiting then are counted as not sent (`phase.notSent`), so a --rate the
 * client cannot reach (1e9) still ends on time. Ctrl-C stops starting calls at once.
 */
function openLoop<C extends CallBase, R>(
  ctx: RunContext<C, R>,
  phase: Phase,
  rate: number,
  t0: number,
  state: StopState,
): Promise<void> {
  const interval = 1000 / rate;
  const cap = ctx.plan.concurrency;
  let total = phase.requests ?? Number.POSITIVE_INFINITY;
  if (phase.durationMs !== undefined) total = Math.min(total, Math.ceil(phase.durationMs / interval));
  const endAt = phase.durationMs !== undefined ? t0 + phase.durationMs : Number.POSITIVE_INFINITY;
  let launched = 0;
  let inFlight = 0;
  let timer: NodeJS.Timeout | undefined;
  let ended: NodeJS.Timeout | undefined;
  return new Promise<void>((resolve) => {
    let resolved = false;
    const dueNow = () => Math.min(total, Math.floor((performance.now() - t0) / interval) + 1);
    /** Past the end of --duration: what was not launched is not sent (and never will be). */
    const pastEnd = (): boolean => {
      if (performance.now() < endAt || launched >= total) return false;
      phase.notSent = total - launched;
      total = launched;
      return true;
    };
    const finishIfDone = (): boolean => {
      pastEnd();
      const noMore = state.stopped || launched >= total || ctx.fatal !== undefined;
      if (noMore && inFlight === 0 && !resolved) {
        resolved = true;
        if (timer) clearTimeout(timer);
        if (ended) clearTimeout(ended);
        resolve();
      }
      return noMore;
    };
    const onDone = () => {
      inFlight -= 1;
      // At the cap no timer is pending: this completion must schedule the next call, due or not
      // (only restarting when one is overdue left a capped loop waiting forever).
      if (!finishIfDone() && timer === undefined) tick();
    };
    const tick = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (finishIfDone()) return;
      const due = dueNow();
      while (launched < due && inFlight < cap && !state.stopped && ctx.fatal === undefined) {
        const scheduledAt = t0 + launched * interval;
        launched += 1;
        inFlight += 1;
        startCall(ctx, phase, scheduledAt, onDone);
      }
      if (finishIfDone()) return;
      // At the cap, the next completion calls tick; otherwise wake at the next due time.
      if (inFlight < cap) timer = setTimeout(tick, Math.max(0, t0 + launched * interval - performance.now()));
    };
    state.wake = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      finishIfDone();
    };
    // At the cap nothing else wakes the scheduler at the end: this does (calls in flight still finish).
    if (Number.isFinite(endAt)) ended = setTimeout(finishIfDone, Math.max(0, endAt - performance.now()) + 1);
    tick();
  });
}

interface ProgressHandle {
  stop(): void;
}

/** The live line on stderr, only when it is a TTY (and not -q): a few times a second. */
function startProgress<C extends CallBase, R>(
  ctx: RunContext<C, R>,
  phase: Phase,
  t0: number,
): ProgressHandle | undefined {
  const out = ctx.spec.output;
  if (!out.stderrIsTTY || out.options.quiet) return undefined;
  let lastDone = 0;
  let lastAt = t0;
  const timer = setInterval(() => {
    const now = performance.now();
    const done = phase.stats.requests;
    const rps = ((done - lastDone) * 1000) / Math.max(1, now - lastAt);
    lastDone = done;
    lastAt = now;
    out.progress(
      progressLine(out, {
        done,
        ...(phase.requests !== undefined ? { total: phase.requests } : {}),
        elapsedMs: now - t0,
        ...(phase.durationMs !== undefined ? { durationMs: phase.durationMs } : {}),
        currentRps: rps,
        errors: phase.stats.errors,
        p99: (phase.intervals ? phase.intervals.soFar() : phase.stats.histogram).percentile(99),
        warmup: phase.warmup,
      }),
    );
  }, PROGRESS_EVERY_MS);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      out.clearProgress();
    },
  };
}
