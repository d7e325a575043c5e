import { getEventListeners } from 'node:events';
import { formatMs } from '../core/duration.js';
import { TimeoutError } from '../errors/comms-error.js';

/** A signal derived from `parent` that also aborts after `ms`, with a typed reason. Always call dispose(). */
export interface DerivedSignal {
  readonly signal: AbortSignal;
  dispose(): void;
  /** Pooled signals only: the one abort callback of the attempt (see AttemptContext.onAbort). */
  readonly onAbort?: (listener: (() => void) | undefined) => void;
}

/** A pooled controller and the attempt's abort callback, called by the one listener it keeps. */
interface Pooled {
  readonly controller: AbortController;
  listener: (() => void) | undefined;
}

function pooled(): Pooled {
  const p: Pooled = { controller: new AbortController(), listener: undefined };
  p.controller.signal.addEventListener(
    'abort',
    () => {
      const f = p.listener;
      p.listener = undefined;
      f?.();
    },
    { once: true },
  );
  return p;
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
 * - a controller whose attempt ended without aborting it, and which no one listens to any more, goes
 *   back to a small free list and serves a later attempt. A controller that fired, or that a
 *   transport still listens to, is never reused.
 * The signal handed out is only meaningful until `dispose()` (i.e. while the attempt runs).
 */
export class DeadlineSignals {
  readonly #parent: AbortSignal;
  readonly #live = new Set<AbortController>();
  readonly #free: Pooled[] = [];
  #listening = false;
  readonly #onParentAbort = () => {
    for (const c of this.#live) c.abort(this.#parent.reason);
  };

  constructor(parent: AbortSignal) {
    this.#parent = parent;
  }

  /** Stop listening on the parent (a process may run many pipelines on one Ctrl-C signal: demo). */
  dispose(): void {
    if (this.#listening) this.#parent.removeEventListener('abort', this.#onParentAbort);
    this.#listening = false;
  }

  /** Like `deadlineSignal(parent, ms, flag)`. Always call dispose(). */
  derive(ms: number | undefined, flag: string): DerivedSignal {
    const parent = this.#parent;
    if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || parent.aborted)
      return deadlineSignal(parent, ms, flag);
    if (!this.#listening) {
      this.#listening = true;
      parent.addEventListener('abort', this.#onParentAbort, { once: true });
    }
    const p = this.#free.pop() ?? pooled();
    const controller = p.controller;
    const live = this.#live;
    live.add(controller);
    const timer = setTimeout(abortWithTimeout, ms, controller, ms, flag);
    return {
      signal: controller.signal,
      onAbort: (listener) => {
        p.listener = listener;
      },
      dispose: () => {
        clearTimeout(timer);
        live.delete(controller);
        p.listener = undefined;
        const signal = controller.signal;
        // Reused only when no one else still listens (the pooled listener itself is the one left).
        if (!signal.aborted && this.#free.length < 256 && getEventListeners(signal, 'abort').length === 1) {
          this.#free.push(p);
        }
      },
    };
  }
}

function abortWithTimeout(controller: AbortController, ms: number, flag: string): void {
  controller.abort(
    new TimeoutError(`timed out after ${formatMs(ms)} (${flag})`, { code: 'COMMS_ERR_TIMEOUT' }),
  );
}
