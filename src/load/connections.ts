import { LatencyHistogram, type LatencySummary } from './histogram.js';

/**
 * Long-lived connections of a run (ws load): handshakes measured apart from the calls, and how the
 * peer ended connections during the run.
 */
export interface ConnectionsSummary {
  /** Connections kept open (-c). */
  size: number;
  /** Handshakes that succeeded, reconnections included. */
  opened: number;
  /** Handshakes that failed, per error kind or refusal status (`connect`, `401`...). */
  failed: Record<string, number>;
  /** Handshake time (TCP, TLS, upgrade) of the successful ones, in ms. */
  handshake: LatencySummary;
  /** Connections the peer closed or dropped during the run, per close code (`1011`, `1006`). */
  closes: Record<string, number>;
  /** Messages that arrived with no request waiting for them (or with an id nobody waits for). */
  unmatched: number;
}

/** Counters behind a ConnectionsSummary, in fixed memory like LoadStats. */
export class ConnectionStats {
  readonly #handshakes = new LatencyHistogram();
  readonly #failed = new Map<string, number>();
  readonly #closes = new Map<string, number>();
  readonly size: number;
  opened = 0;
  unmatched = 0;

  constructor(size: number) {
    this.size = size;
  }

  handshake(ms: number): void {
    this.opened += 1;
    this.#handshakes.record(ms);
  }

  failure(key: string): void {
    this.#failed.set(key, (this.#failed.get(key) ?? 0) + 1);
  }

  closed(code: number): void {
    const key = String(code);
    this.#closes.set(key, (this.#closes.get(key) ?? 0) + 1);
  }

  summary(): ConnectionsSummary {
    return {
      size: this.size,
      opened: this.opened,
      failed: Object.fromEntries(this.#failed),
      handshake: this.#handshakes.summary(),
      closes: Object.fromEntries([...this.#closes].sort((a, b) => b[1] - a[1])),
      unmatched: this.unmatched,
    };
  }
}
