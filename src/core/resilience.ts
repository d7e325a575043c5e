/*
 * The shared resilience options, apart from the pipeline that applies them: option parsing needs the
 * defaults at start-up, and must not pull in the pipeline (and cockatiel) to get them.
 */

/** The shared resilience options of the contract, parsed. */
export interface ResilienceOptions {
  /** Per-attempt timeout (gRPC: the deadline). */
  timeoutMs: number;
  /** Overall budget across attempts and waits. */
  maxTimeMs?: number;
  /** Retries after the first attempt. */
  retries: number;
  backoffMs: number;
  backoffMaxMs: number;
  /** Open the breaker after this many consecutive peer faults (absent: no breaker). */
  breaker?: number;
  breakerCooldownMs: number;
  breakerStateFile?: string;
}

export const DEFAULT_RESILIENCE: ResilienceOptions = {
  timeoutMs: 30_000,
  retries: 0,
  backoffMs: 200,
  backoffMaxMs: 10_000,
  breakerCooldownMs: 10_000,
};
