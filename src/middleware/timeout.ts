import { formatMs } from '../core/duration.js';
import { TimeoutError } from '../errors/comms-error.js';

/** A signal derived from `parent` that also aborts after `ms`, with a typed reason. Always call dispose(). */
export interface DerivedSignal {
  readonly signal: AbortSignal;
  dispose(): void;
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
