import { getEventListeners } from 'node:events';
import { formatMs } from '../core/duration.js';
import type { AbortListener } from '../core/transport.js';
import { TimeoutError } from '../errors/comms-error.js';

/** A signal derived from `parent` that also aborts after `ms`, with a typed reason. Always call dispose(). */
export interface DerivedSignal {
  readonly signal: AbortSignal;
  dispose(): void;
  /**
   * Pooled signals only (DeadlineSignals): call `listener.handleEvent()` when the signal aborts,
   * until dispose(); a later call replaces it. Cheaper than addEventListener + removeEventListener on
   * the signal (~2.5% of an HTTP load run's CPU on Node 20, whose EventTarget parses options and
   * keeps bookkeeping per call).
   */
  readonly onAbort?: (listener: AbortListener | undefined) => void;
}

/**
 * Derive a signal that aborts when `parent` does (keeping its reason, e.g. Ctrl-C) or after `ms`
 * with a TimeoutError naming the flag. Timers and listeners are released in dispose(), so a long
 * load run does not accumulate them.
 */
export function deadlineSignal(parent: AbortSignal, ms: number | undefined, flag: string): DerivedSignal {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return { signal: parent, dispose: () => {} };
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(parent.reason);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', onParentAbort, { once: true });
  const timer = setTimeout(() => {
    controller.abort(
      new TimeoutError(`timed out after ${formatMs(ms)} (${flag})`, { code: 'COMMS_ERR_TIMEOUT' }),
    );
  }, ms);
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}

/**
 * Per-attempt deadline signals derived from one long-lived parent (a pipeline's root signal), cheap
 * enough for load mode. On Node 20 creating an AbortSignal costs several microseconds (its
 * EventTarget is re-prototyped), and a listener per attempt on the shared root costs more again, so
 * at tens of thousands of calls a second they dominated the pipeline's own CPU. Here:
 * - one listener on the parent aborts every live attempt (instead of one listener per attempt);
 * - an attempt's slot (controller, timer, direct listener) whose attempt ended without aborting it,
 *   and whose signal no one listens to any more, goes back to a small free list and serves a later
 *   attempt. A controller that fired, or that a transport still listens to, is never reused.
 * The signal handed out is only meaningful until `dispose()` (i.e. while the attempt runs).
 */
export class DeadlineSignals {
  readonly #parent: AbortSignal;
  readonly #live = new Set<DeadlineSlot>();
  readonly #free: DeadlineSlot[] = [];
  #listening = false;
  readonly #onParentAbort = () => {
    for (const slot of this.#live) slot.abort(this.#parent.reason);
  };

  constructor(parent: AbortSignal) {
    this.#parent = parent;
  }

  /** Stop listening on the parent (a process may run many pipelines on one Ctrl-C signal: demo). */
  dispose(): void {
    if (this.#listening) this.#parent.removeEventListener('abort', this.#onParentAbort);
    this.#listening = false;
  }

  /** Like `deadlineSignal(parent, ms, flag)`, plus `onAbort` when pooled. Always call dispose(). */
  derive(ms: number | undefined, flag: string): DerivedSignal {
    const parent = this.#parent;
    if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || parent.aborted)
      return deadlineSignal(parent, ms, flag);
    if (!this.#listening) {
      this.#listening = true;
      parent.addEventListener('abort', this.#onParentAbort, { once: true });
    }
    const slot = this.#free.pop() ?? new DeadlineSlot(this.#live, this.#free);
    slot.start(ms, flag);
    return slot;
  }
}

/** One attempt's deadline: reused across attempts while it never fired (see DeadlineSignals). */
class DeadlineSlot implements DerivedSignal {
  readonly #controller = new AbortController();
  readonly signal = this.#controller.signal;
  readonly #live: Set<DeadlineSlot>;
  readonly #free: DeadlineSlot[];
  #timer: NodeJS.Timeout | undefined;
  #listener: AbortListener | undefined;
  readonly onAbort = (listener: AbortListener | undefined): void => {
    this.#listener = listener;
  };
  readonly dispose = (): void => {
    if (!this.#live.delete(this)) return; // disposed already
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listener = undefined;
    const signal = this.signal;
    if (!signal.aborted && this.#free.length < 256 && getEventListeners(signal, 'abort').length === 0)
      this.#free.push(this);
  };

  constructor(live: Set<DeadlineSlot>, free: DeadlineSlot[]) {
    this.#live = live;
    this.#free = free;
  }

  start(ms: number, flag: string): void {
    this.#live.add(this);
    this.#timer = setTimeout(abortWithTimeout, ms, this, ms, flag);
  }

  abort(reason: unknown): void {
    if (this.signal.aborted) return;
    this.#controller.abort(reason);
    const listener = this.#listener;
    this.#listener = undefined;
    if (typeof listener === 'function') listener();
    else listener?.handleEvent();
  }
}

function abortWithTimeout(slot: DeadlineSlot, ms: number, flag: string): void {
  slot.abort(new TimeoutError(`timed out after ${formatMs(ms)} (${flag})`, { code: 'COMMS_ERR_TIMEOUT' }));
}
