import { createRequire } from 'node:module';
import type { CircuitBreakerPolicy } from 'cockatiel';
import {
  type BreakerStateMap,
  checkBreakerStateFile,
  loadBreakerStates,
  saveBreakerStates,
} from './breaker-state.js';

export type BreakerStateName = 'closed' | 'open' | 'half-open' | 'isolated';

export interface BreakerOptions {
  /** Open after this many consecutive peer faults. */
  threshold: number;
  /** Time open before one half-open trial. */
  cooldownMs: number;
  /** Share state with other invocations through this file. */
  stateFile?: string;
}

/** What the breaker needs to know about an attempt's outcome: did the peer misbehave? */
export interface BreakerJudged {
  readonly verdict: { readonly ok: boolean; readonly peerFault: boolean };
}

/*
 * cockatiel is required only when a breaker is asked for (--breaker): its index loads ~30 files, and
 * every plain call would pay that at start-up.
 */
type Cockatiel = typeof import('cockatiel');
let cockatiel: Cockatiel | undefined;
function loadCockatiel(): Cockatiel {
  cockatiel ??= createRequire(import.meta.url)('cockatiel') as Cockatiel;
  return cockatiel;
}

/** cockatiel's CircuitState values (a const enum in spirit; numbers in its JSON state). */
const CircuitState = { Closed: 0, Open: 1, HalfOpen: 2, Isolated: 3 } as const;
type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/**
 * One circuit breaker per key (target / handler), on cockatiel's CircuitBreakerPolicy with a
 * ConsecutiveBreaker: its state machine (closed -> open -> one half-open trial) and its
 * `toJSON()`/`initialState` round trip are exactly what `--breaker-state FILE` needs, so we do not
 * rewrite them. Only outcomes the transport classified as peer faults count as failures; a 404 is
 * the server working.
 */
export class BreakerRegistry {
  readonly #options: BreakerOptions;
  readonly #policies = new Map<string, CircuitBreakerPolicy>();
  readonly #initial: BreakerStateMap;
  /** Keys that saw a success in this run (a success resets the consecutive-failure count). */
  readonly #succeeded = new Set<string>();
  readonly #onChange: ((key: string, state: BreakerStateName) => void) | undefined;
  /** Pipelines sharing this registry (a check's steps) each watch it while they run. */
  readonly #listeners = new Set<(key: string, state: BreakerStateName) => void>();

  constructor(options: BreakerOptions, onChange?: (key: string, state: BreakerStateName) => void) {
    this.#options = options;
    this.#onChange = onChange;
    if (options.stateFile) checkBreakerStateFile(options.stateFile);
    this.#initial = options.stateFile ? loadBreakerStates(options.stateFile) : {};
  }

  /** The breaker for `key`, created on first use (restored from the state file when it has one). */
  for(key: string): CircuitBreakerPolicy {
    let policy = this.#policies.get(key);
    if (!policy) {
      const { circuitBreaker, ConsecutiveBreaker, handleWhenResult } = loadCockatiel();
      policy = circuitBreaker(
        handleWhenResult((r) => {
          const judged = r as BreakerJudged;
          const failed = !judged.verdict.ok && judged.verdict.peerFault;
          if (!failed) this.#succeeded.add(key);
          return failed;
        }),
        {
          halfOpenAfter: this.#options.cooldownMs,
          breaker: new ConsecutiveBreaker(this.#options.threshold),
          initialState: this.#initial[key],
        },
      );
      policy.onStateChange((s) => {
        const name = STATE_NAMES[s as CircuitState];
        this.#onChange?.(key, name);
        for (const l of this.#listeners) l(key, name);
      });
      this.#policies.set(key, policy);
    }
    return policy;
  }

  /** Watch state changes until the returned function is called. */
  listen(fn: (key: string, state: BreakerStateName) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  stateOf(key: string): BreakerStateName {
    const p = this.#policies.get(key);
    return p ? STATE_NAMES[p.state as CircuitState] : 'closed';
  }

  /**
   * Write every breaker used in this run back to the state file. Another process may have saved the
   * same key since we loaded it; then our failures are added to its count rather than overwriting it,
   * so parallel invocations in a CI shell still open the breaker after n failures between them.
   */
  async persist(): Promise<void> {
    const file = this.#options.stateFile;
    if (!file || this.#policies.size === 0) return;
    await saveBreakerStates(file, (current) => {
      const updates: BreakerStateMap = {};
      for (const [key, policy] of this.#policies) {
        updates[key] = mergeState(
          policy.toJSON() as SavedBreaker,
          this.#initial[key] as SavedBreaker | undefined,
          current[key] as SavedBreaker | undefined,
          this.#succeeded.has(key),
          this.#options.threshold,
        );
      }
      return updates;
    });
  }
}

/** cockatiel's `toJSON()` shape for a ConsecutiveBreaker (breakerState = consecutive failures). */
interface SavedBreaker {
  ownState: { value: CircuitState; openedAt?: number; attemptNo?: number };
  breakerState: number;
}

function mergeState(
  mine: SavedBreaker,
  initial: SavedBreaker | undefined,
  stored: SavedBreaker | undefined,
  sawSuccess: boolean,
  threshold: number,
): SavedBreaker {
  if (!stored || JSON.stringify(stored) === JSON.stringify(initial)) return mine; // nobody else wrote
  if (mine.ownState.value !== CircuitState.Closed) return mine; // we opened it (or hold a trial)
  if (stored.ownState.value !== CircuitState.Closed) return stored; // someone else opened it
  if (sawSuccess) return mine; // our success reset the count
  const failures = stored.breakerState + Math.max(0, mine.breakerState - (initial?.breakerState ?? 0));
  return failures >= threshold
    ? { ownState: { value: CircuitState.Open, openedAt: Date.now(), attemptNo: 1 }, breakerState: failures }
    : { ownState: { value: CircuitState.Closed }, breakerState: failures };
}
