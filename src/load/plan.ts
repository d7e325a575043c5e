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
  /** Stop at once when an upper-bound gate (p99, p50, error rate) already fails mid-run. */
  abortOnFail: boolean;
  /** --report targets written after the summary. */
  reports: { kind: 'html' | 'prometheus'; target: string }[];
  /** Present: spread over workers (comms-cli worker) instead of running here. */
  distributed?: DistributedPlan;
  /** After --duration ends: how long calls in flight may take before they are aborted (absent: no bound). */
  drainTimeoutMs?: number;
}

/** `--workers N --workers-server URL ...`: how the coordinator finds and drives its workers. */
export interface DistributedPlan {
  workers: number;
  /** NATS server URL(s), comma-separated; may carry user:password@. */
  server: string;
  /** Only workers whose tags include all of these. */
  tags: Record<string, string>;
  /** How long discovery waits for enough free workers. */
  timeoutMs: number;
  prefix: string;
  allowPartial: boolean;
}
