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
  #phases: Timing = {};
  /** `#phases` was handed out by toJSON(): the next write goes to a copy, so that object never changes. */
  #shared = false;

  constructor(start = performance.now()) {
    this.start = start;
  }

  /** Record a phase's duration directly. */
  set(phase: TimingPhase, ms: number): void {
    this.#writable()[phase] = round(ms);
  }

  /** Record a phase as "now minus the attempt start" (firstByte, total). */
  markSinceStart(phase: TimingPhase, at = performance.now()): void {
    this.#writable()[phase] = round(at - this.start);
  }

  /** `total` as "now minus the start", unless the transport already recorded it (named access: per call). */
  markTotal(at: number): void {
    if (this.#phases.total === undefined) this.#writable().total = round(at - this.start);
  }

  get(phase: TimingPhase): number | undefined {
    return this.#phases[phase];
  }

  /** The phases so far, as an object later records do not change (no copy per call: load mode). */
  toJSON(): Timing {
    this.#shared = true;
    return this.#phases;
  }

  #writable(): Timing {
    if (this.#shared) {
      this.#phases = { ...this.#phases };
      this.#shared = false;
    }
    return this.#phases;
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
