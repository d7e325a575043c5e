import { getEventListeners } from 'node:events';
import { performance } from '../core/clock.js';
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
  /** Every slot that may still serve an attempt (running or free); see SlotPool. */
  readonly #pool: SlotPool = { slots: [], free: [] };
  #listening = false;
  readonly #onParentAbort = () => {
    // A copy: aborting a slot takes it out of the list.
    for (const slot of [...this.#pool.slots]) if (slot.running) slot.abort(this.#parent.reason);
  };

  constructor(parent: AbortSignal) {
    this.#parent = parent;
  }

  /** Stop listening on the parent (a process may run many pipelines on one Ctrl-C signal: demo). */
  dispose(): void {
    if (this.#listening) this.#parent.removeEventListener('abort', this.#onParentAbort);
    this.#listening = false;
    const { free } = this.#pool;
    for (const slot of [...free]) slot.close();
    free.length = 0;
  }

  /**
   * Like `deadlineSignal(parent, ms, flag)`, plus `onAbort` when pooled. Always call dispose().
   * `now`: when the attempt starts, if the caller has just read the clock (one reading, not two).
   */
  derive(ms: number | undefined, flag: string, now = performance.now()): DerivedSignal {
    const parent = this.#parent;
    if (ms === undefined || !Number.isFinite(ms) || ms <= 0 || parent.aborted)
      return deadlineSignal(parent, ms, flag);
    if (!this.#listening) {
      this.#listening = true;
      parent.addEventListener('abort', this.#onParentAbort, { once: true });
    }
    const slot = this.#pool.free.pop() ?? new DeadlineSlot(this.#pool);
    slot.start(ms, flag, now);
    return slot;
  }
}

/**
 * The slots of one DeadlineSignals. `slots` holds every slot not yet let go for good, each at its
 * own index (removal swaps the last one in), so that starting and ending an attempt touch no Set or
 * Map; the parent's abort walks it for the running ones. `free`: the reusable ones.
 */
interface SlotPool {
  readonly slots: DeadlineSlot[];
  readonly free: DeadlineSlot[];
}

/**
 * One attempt's deadline: reused across attempts while it never fired (see DeadlineSignals).
 *
 * Its timer is not reset per attempt. A timer armed for an earlier attempt, due no later than this
 * one's deadline, is kept: when it fires it re-arms for whatever is left of the attempt now holding
 * the slot (or stops, when none does). Attempts that end well inside --timeout, the usual case,
 * then cost a clock reading instead of a setTimeout + clearTimeout (a Timeout object and the timer
 * list's bookkeeping twice per call, a measured part of a WebSocket round trip's CPU). The abort is
 * never early: it happens once the monotonic clock has passed the attempt's deadline.
 */
class DeadlineSlot implements DerivedSignal {
  readonly #controller = new AbortController();
  readonly signal = this.#controller.signal;
  readonly #pool: SlotPool;
  /** This slot's index in `#pool.slots`, or -1 once let go. */
  #index: number;
  /** Armed to fire at `#firesAt`, or undefined. Ref'd only while an attempt holds the slot. */
  #timer: NodeJS.Timeout | undefined;
  #firesAt = 0;
  /** The attempt's deadline (clock ms), duration and flag, for the TimeoutError. */
  #deadlineAt = 0;
  #ms = 0;
  #flag = '';
  /** An attempt holds this slot (between start and dispose). */
  running = false;
  /** The signal aborted (timeout or parent): the slot is never reused. */
  #fired = false;
  /**
   * Someone called the signal's addEventListener during this attempt: only then does dispose() ask
   * whether a listener is left (getEventListeners builds an array). A transport using `onAbort`
   * never does.
   */
  #listenedTo = false;
  #listener: AbortListener | undefined;
  readonly onAbort = (listener: AbortListener | undefined): void => {
    this.#listener = listener;
  };
  readonly dispose = (): void => {
    if (!this.running) return; // disposed already
    this.running = false;
    this.#listener = undefined;
    if (this.#fired) return;
    // Left armed, but an idle slot must not keep the process alive.
    this.#timer?.unref();
    const free = this.#pool.free;
    if (free.length < 256 && (!this.#listenedTo || getEventListeners(this.signal, 'abort').length === 0)) {
      this.#listenedTo = false;
      free.push(this);
    } else this.#letGo();
  };

  constructor(pool: SlotPool) {
    this.#pool = pool;
    this.#index = pool.slots.push(this) - 1;
    const slot = this;
    const add = EventTarget.prototype.addEventListener;
    // This signal only: note that a listener may be left on it (see #listenedTo).
    this.signal.addEventListener = function (this: AbortSignal, ...args: Parameters<typeof add>) {
      slot.#listenedTo = true;
      add.apply(this, args);
    };
  }

  /** `now`: the attempt's start on the shared clock (the caller's reading, when it has one). */
  start(ms: number, flag: string, now: number): void {
    this.running = true;
    this.#ms = ms;
    this.#flag = flag;
    this.#deadlineAt = now + ms;
    const timer = this.#timer;
    if (timer !== undefined) {
      if (this.#firesAt <= this.#deadlineAt) {
        timer.ref();
        return;
      }
      clearTimeout(timer);
    }
    this.#arm(ms, now);
  }

  #arm(delay: number, now: number): void {
    this.#firesAt = now + delay;
    this.#timer = setTimeout(onSlotTimer, delay, this);
  }

  /** The slot's timer fired: time out the attempt holding it, or wait for what is left of it. */
  onTimer(): void {
    this.#timer = undefined;
    if (!this.running || this.#fired) return;
    const now = performance.now();
    const left = this.#deadlineAt - now;
    if (left > 0) {
      this.#arm(left, now);
      return;
    }
    this.abort(
      new TimeoutError(`timed out after ${formatMs(this.#ms)} (${this.#flag})`, {
        code: 'COMMS_ERR_TIMEOUT',
      }),
    );
  }

  abort(reason: unknown): void {
    if (this.#fired) return;
    this.#fired = true;
    this.#letGo();
    this.#controller.abort(reason);
    const listener = this.#listener;
    this.#listener = undefined;
    if (typeof listener === 'function') listener();
    else listener?.handleEvent();
  }

  /** Let go of the slot for good (it fired, cannot be reused, or the pool is closing): timer and index. */
  #letGo(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const i = this.#index;
    if (i < 0) return;
    this.#index = -1;
    const slots = this.#pool.slots;
    const last = slots.pop() as DeadlineSlot;
    if (last !== this) {
      slots[i] = last;
      last.#index = i;
    }
  }

  /** DeadlineSignals.dispose(): a free slot's armed (unref'd) timer is cleared. */
  close(): void {
    if (!this.running) this.#letGo();
  }
}

function onSlotTimer(slot: DeadlineSlot): void {
  slot.onTimer();
}
