import { performance } from '../core/clock.js';
import type { Result } from '../core/result.js';
import type { CallOutcome, CallPipeline } from '../core/run-call.js';
import { ExitCode, worstExitCode } from '../errors/exit-codes.js';
import type { StoredEvent } from './event.js';
import type { EventHandler } from './handlers/event-handler.js';
import type { DeadLetter, EventFilter, EventStore } from './store.js';

export type DeliveryOutcome = 'handled' | 'dead-lettered' | 'stopped';

/** What happened to one event, for output. */
export interface Delivery {
  event: StoredEvent;
  outcome: DeliveryOutcome;
  result: Result;
}

export interface DispatchOptions {
  store: EventStore;
  handler: EventHandler;
  pipeline: CallPipeline;
  /** Dead-letter group and, when `checkpoint` is true, the checkpoint name. */
  group: string;
  checkpoint: boolean;
  /** Start after this position (else the checkpoint, else 0). */
  from?: number;
  filter: EventFilter;
  follow: boolean;
  stopOnFailure: boolean;
  /** Park events whose handler cannot be reached (after retries) instead of stopping the run. */
  deadLetterUnreachable?: boolean;
  signal: AbortSignal;
  onDelivery(delivery: Delivery): Promise<void>;
}

export interface DispatchSummary {
  type: 'summary';
  operation: 'dispatch' | 'redrive';
  handler: string;
  /** Events delivered (handled + dead-lettered + stopped). */
  events: number;
  handled: number;
  /** Events that needed more than one attempt. */
  retried: number;
  deadLettered: number;
  /** Dead letters still failing (re-drive only). */
  remaining?: number;
  /** Why the run stopped early: breaker, unreachable, failure, interrupted. */
  stopped?: string;
  /** Position after the run (the checkpoint, when one is kept). */
  position: number;
  ms: number;
  /** Handled events per second (`handled / ms`); 0 when nothing was handled. */
  rate: number;
  exit: ExitCode;
}

/**
 * At-least-once, in-order delivery. For each event: one call through the shared pipeline (retries,
 * timeouts, breaker); on success the checkpoint moves past it, durably, before the next event; an
 * event whose handler answered with a failure goes to the dead-letter list and the checkpoint moves
 * past it too. Some failures stop the run instead, leaving the checkpoint before the event so a re-run
 * retries it: a handler that cannot be reached after its retries (refused, DNS, TLS, no responders:
 * the handler is down, and parking every event would be wrong; `--dead-letter-unreachable` parks them
 * instead), an open breaker, Ctrl-C, and, with `--stop-on-failure`, any failure. A kill -9 at any point
 * re-delivers at most the event in flight.
 */
export async function dispatchEvents(opts: DispatchOptions): Promise<DispatchSummary> {
  const started = performance.now();
  let position = opts.from ?? (opts.checkpoint ? await opts.store.getCheckpoint(opts.group) : 0);
  const s = counters();
  const codes: ExitCode[] = [];
  let stopped: string | undefined;

  const source = opts.store.readAll({
    afterPosition: position,
    filter: opts.filter,
    follow: opts.follow,
    signal: opts.signal,
  });
  for await (const event of source) {
    const outcome = await opts.handler.deliver(opts.pipeline, event);
    const { result } = outcome;
    s.events += 1;
    if (result.attempts.length > 1) s.retried += 1;
    if (result.ok) {
      s.handled += 1;
      position = event.position;
      if (opts.checkpoint) await opts.store.setCheckpoint(opts.group, position);
      await opts.onDelivery({ event, outcome: 'handled', result });
      continue;
    }
    const stop = stopReason(opts, result);
    if (stop) {
      stopped = stop;
      codes.push(opts.signal.aborted ? ExitCode.interrupted : result.exit);
      await opts.onDelivery({ event, outcome: 'stopped', result });
      break;
    }
    await opts.store.addDeadLetter(deadLetter(opts, event, outcome, 1));
    s.deadLettered += 1;
    codes.push(ExitCode.failed);
    position = event.position;
    if (opts.checkpoint) await opts.store.setCheckpoint(opts.group, position);
    await opts.onDelivery({ event, outcome: 'dead-lettered', result });
  }
  if (opts.signal.aborted && !stopped) {
    stopped = 'interrupted';
    codes.push(ExitCode.interrupted);
  }
  return finish('dispatch', opts.handler, s, position, started, codes, stopped);
}

/**
 * `--retry-dead-letters`: deliver the group's dead letters again, in position order. A letter that
 * is handled now is removed; one still failing stays with its run count raised. The checkpoint is
 * not touched: these events are already behind it.
 */
export async function redriveDeadLetters(opts: DispatchOptions): Promise<DispatchSummary> {
  const started = performance.now();
  const s = counters();
  const codes: ExitCode[] = [];
  let stopped: string | undefined;
  const letters = await opts.store.listDeadLetters(opts.group);
  let remaining = letters.length;
  for (const letter of letters) {
    if (opts.signal.aborted) break;
    const { event } = letter;
    const outcome = await opts.handler.deliver(opts.pipeline, event);
    const { result } = outcome;
    s.events += 1;
    if (result.attempts.length > 1) s.retried += 1;
    if (result.ok) {
      s.handled += 1;
      remaining -= 1;
      await opts.store.removeDeadLetter(opts.group, event.position);
      await opts.onDelivery({ event, outcome: 'handled', result });
      continue;
    }
    // --stop-on-failure is handled below: the failing letter is re-parked first.
    const stop = stopReason({ ...opts, stopOnFailure: false }, result);
    if (stop) {
      stopped = stop;
      codes.push(opts.signal.aborted ? ExitCode.interrupted : result.exit);
      await opts.onDelivery({ event, outcome: 'stopped', result });
      break;
    }
    await opts.store.addDeadLetter(deadLetter(opts, event, outcome, letter.runs + 1));
    s.deadLettered += 1;
    codes.push(ExitCode.failed);
    await opts.onDelivery({ event, outcome: 'dead-lettered', result });
    if (opts.stopOnFailure) {
      stopped = 'failure';
      break;
    }
  }
  if (opts.signal.aborted && !stopped) {
    stopped = 'interrupted';
    codes.push(ExitCode.interrupted);
  }
  const summary = finish('redrive', opts.handler, s, 0, started, codes, stopped);
  summary.remaining = remaining;
  return summary;
}

/**
 * Why a failed delivery stops the run (undefined: park it and go on). A connect failure means nothing
 * reached a handler: the handler is down, not this event bad.
 */
function stopReason(opts: DispatchOptions, result: Result): string | undefined {
  const kind = result.error?.kind;
  if (kind === 'interrupted' || opts.signal.aborted) return 'interrupted';
  if (kind === 'breaker') return 'breaker';
  if (unreachable(result) && !opts.deadLetterUnreachable) return 'unreachable';
  if (opts.stopOnFailure) return 'failure';
  return undefined;
}

/**
 * Nothing reached a handler: refused, DNS, TLS, no responders — or a connect that never completed in
 * time (a NATS server that accepts TCP and never sends INFO, a TCP connect that hangs): that is a
 * handler that is down, not an event that timed out, so it must not be parked nor passed.
 */
function unreachable(result: Result): boolean {
  return result.error?.kind === 'connect' || result.error?.code === 'COMMS_ERR_CONNECT_TIMEOUT';
}

function counters() {
  return { events: 0, handled: 0, retried: 0, deadLettered: 0 };
}

function deadLetter(
  opts: DispatchOptions,
  event: StoredEvent,
  outcome: CallOutcome<unknown>,
  runs: number,
): DeadLetter {
  const err = outcome.result.error;
  return {
    group: opts.group,
    event,
    handler: opts.handler.target,
    error: { kind: err?.kind ?? 'response', message: err?.message ?? 'handler failed' },
    runs,
    time: new Date().toISOString(),
  };
}

function finish(
  operation: DispatchSummary['operation'],
  handler: EventHandler,
  s: ReturnType<typeof counters>,
  position: number,
  started: number,
  codes: ExitCode[],
  stopped: string | undefined,
): DispatchSummary {
  const ms = Math.round((performance.now() - started) * 1000) / 1000;
  return {
    type: 'summary',
    operation,
    handler: handler.target,
    ...s,
    ...(stopped ? { stopped } : {}),
    position,
    ms,
    // Handled events per second: an event that stopped the run (unreachable handler, breaker) or was
    // dead-lettered is not throughput (a run that handled nothing was reported at e.g. 26.89/s).
    rate: ms > 0 ? Math.round((s.handled / ms) * 1000 * 100) / 100 : 0,
    exit: worstExitCode(codes),
  };
}
