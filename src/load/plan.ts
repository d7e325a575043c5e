/** A service-level gate: the run fails (exit 1) when `actual` misses `limit`. */
export interface GateSpec {
  /** The figure's name as the summary shows it: p99, p50, errorRate, rps. */
  figure: 'p99' | 'p50' | 'errorRate' | 'rps';
  flag: string;
  /** The flag's text, for messages (`50ms`, `1%`). */
  text: string;
  limit: number;
  /** `max`: actual must be <= limit; `min`: actual must be >= limit. */
  bound: 'max' | 'min';
}

/** The load flags, parsed and checked: what the runner executes. */
export interface LoadPlan {
  /** Measured calls to send (absent: until --duration or Ctrl-C). */
  requests?: number;
  /** Measured phase length in ms (absent: until -n). */
  durationMs?: number;
  /** Closed loop: workers. Open loop: cap on calls in flight. */
  concurrency: number;
  /** Open loop: arrivals per second. Absent: closed loop. */
  rate?: number;
  warmupMs: number;
  gates: GateSpec[];
  /** One NDJSON line per measured call. */
  jsonAll: boolean;
  /** After --duration ends: how long calls in flight may take before they are aborted (absent: no bound). */
  drainTimeoutMs?: number;
}
