import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhenResult,
} from 'cockatiel';
import { type BreakerStateMap, loadBreakerStates, saveBreakerStates } from './breaker-state.js';

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
  readonly #onChange: ((key: string, state: BreakerStateName) => void) | undefined;

  constructor(options: BreakerOptions, onChange?: (key: string, state: BreakerStateName) => void) {
    this.#options = options;
    this.#onChange = onChange;
    this.#initial = options.stateFile ? loadBreakerStates(options.stateFile) : {};
  }

  /** The breaker for `key`, created on first use (restored from the state file when it has one). */
  for(key: string): CircuitBreakerPolicy {
    let policy = this.#policies.get(key);
    if (!policy) {
      policy = circuitBreaker(
        handleWhenResult((r) => {
          const judged = r as BreakerJudged;
          return !judged.verdict.ok && judged.verdict.peerFault;
        }),
        {
          halfOpenAfter: this.#options.cooldownMs,
          breaker: new ConsecutiveBreaker(this.#options.threshold),
          initialState: this.#initial[key],
        },
      );
      const onChange = this.#onChange;
      if (onChange) policy.onStateChange((s) => onChange(key, STATE_NAMES[s]));
      this.#policies.set(key, policy);
    }
    return policy;
  }

  stateOf(key: string): BreakerStateName {
    const p = this.#policies.get(key);
    return p ? STATE_NAMES[p.state] : 'closed';
  }

  /** Write every breaker used in this run back to the state file (merged with other keys there). */
  persist(): void {
    if (!this.#options.stateFile || this.#policies.size === 0) return;
    const updates: BreakerStateMap = {};
    for (const [key, policy] of this.#policies) updates[key] = policy.toJSON();
    saveBreakerStates(this.#options.stateFile, updates);
  }
}
