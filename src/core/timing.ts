import { performance } from './clock.js';

/** Phases a transport may measure, in milliseconds from the start of the attempt. */
export type TimingPhase = 'dns' | 'connect' | 'tls' | 'firstByte' | 'upgrade' | 'firstEvent' | 'total';
export type Timing = Partial<Record<TimingPhase, number>>;

/**
 * Collects timing for one attempt from real events (socket lookup/connect/secureConnect, first
 * response byte). `dns`, `connect` and `tls` are durations of those phases; `firstByte` and
 * `total` are measured from the attempt start. A phase that did not happen (reused connection,
 * plaintext) is simply absent.
 */
export class TimingRecorder {
  readonly start: number;
  readonly #phases: Timing = {};

  constructor(start = performance.now()) {
    this.start = start;
  }

  /** Record a phase's duration directly. */
  set(phase: TimingPhase, ms: number): void {
    this.#phases[phase] = round(ms);
  }

  /** Record a phase as "now minus the attempt start" (firstByte, total). */
  markSinceStart(phase: TimingPhase, at = performance.now()): void {
    this.#phases[phase] = round(at - this.start);
  }

  get(phase: TimingPhase): number | undefined {
    return this.#phases[phase];
  }

  toJSON(): Timing {
    return { ...this.#phases };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
