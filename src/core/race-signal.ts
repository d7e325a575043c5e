import { abortReasonToError } from '../errors/classify.js';
import type { AttemptContext } from './transport.js';

/**
 * Listen for an attempt's abort: through the pipeline's pooled callback where it offers one (load
 * mode: no EventTarget listener added and removed per call), else on the signal itself. One such
 * listener per attempt. Returns the undo (idempotent).
 */
export function listenAbort(ctx: AttemptContext, onAbort: () => void): () => void {
  const set = ctx.onAbort;
  if (set) {
    set(onAbort);
    return () => set(undefined);
  }
  const { signal } = ctx;
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

/** Resolve with `p`, or reject with the signal's typed reason (timeout, Ctrl-C) as soon as it aborts. */
export function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(abortReasonToError(signal.reason));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReasonToError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
