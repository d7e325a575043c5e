import { AsyncLocalStorage } from 'node:async_hooks';
import type { SeriesPoint } from './series.js';
import type { LoadSummary } from './summary.js';

/**
 * A load run executed as one worker's share of a distributed run. The worker runs the plan's command
 * line in-process (`ctx.run(argv)`) inside `runAsShare`, so the command parses its flags, builds its
 * transport and reaches runLoad exactly as a local run does; runLoad finds the share here and
 * (1) waits for the agreed start instant, (2) also stops when the coordinator says so, (3) hands each
 * second's point and the final summary to the worker instead of only printing them.
 * AsyncLocalStorage scopes it to that one command: nothing global, nothing threaded through the
 * transports' runners.
 */
export interface LoadShare {
  /** Epoch ms at which to start (warm-up included); absent: at once. */
  startAt?: number;
  /** Aborted when the coordinator stops the run (Ctrl-C there, a failed gate, lost quorum). */
  stop: AbortSignal;
  /** Called when the run starts (after the wait), with the plan as the runner understood it. */
  onStart?(info: { warmup: boolean }): void;
  /**
   * Each second of the measured phase, with the running totals. `replaces`: this point stands for
   * the previous one too (a short final interval folded into it).
   */
  onInterval?(point: SeriesPoint, running: { requests: number; errors: number }, replaces?: boolean): void;
  /** The run's summary (the same object a local --json run prints). */
  onSummary(summary: LoadSummary): void;
}

const storage = new AsyncLocalStorage<LoadShare>();

export function runAsShare<T>(share: LoadShare, fn: () => Promise<T>): Promise<T> {
  return storage.run(share, fn);
}

export function currentShare(): LoadShare | undefined {
  return storage.getStore();
}
