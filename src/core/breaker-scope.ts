import { AsyncLocalStorage } from 'node:async_hooks';
import { BreakerRegistry } from '../middleware/breaker.js';

/**
 * The circuit breakers of one run of several commands in this process: a check (or, with
 * `comms-cli check --breaker-state FILE`, the whole check run). Every CallPipeline built while the
 * scope is current takes its breakers from here instead of making its own, so a breaker that failing
 * steps opened makes a later step to the same origin fail fast (exit 5), exactly as repeated calls of
 * one command line would. Breakers are keyed per target (the origin for HTTP) and per settings
 * (`--breaker`, `--breaker-cooldown`); the state file, if any, is loaded on first use and saved once
 * by `persist()` when the run ends.
 */
export class BreakerScope {
  readonly #stateFile: string | undefined;
  readonly #registries = new Map<string, BreakerRegistry>();

  constructor(stateFile?: string) {
    this.#stateFile = stateFile;
  }

  registry(threshold: number, cooldownMs: number): BreakerRegistry {
    const key = `${threshold}/${cooldownMs}`;
    let r = this.#registries.get(key);
    if (!r) {
      r = new BreakerRegistry({
        threshold,
        cooldownMs,
        ...(this.#stateFile ? { stateFile: this.#stateFile } : {}),
      });
      this.#registries.set(key, r);
    }
    return r;
  }

  async persist(): Promise<void> {
    for (const r of this.#registries.values()) await r.persist();
  }
}

/*
 * The scope travels with the async context of `ctx.run` (cli/main.ts binds RunIo.breakers), so every
 * slice's pipeline finds it without each command threading it through its own options.
 */
const current = new AsyncLocalStorage<BreakerScope>();

export function currentBreakerScope(): BreakerScope | undefined {
  return current.getStore();
}

export function inBreakerScope<T>(scope: BreakerScope, fn: () => T): T {
  return current.run(scope, fn);
}

/** Run outside any scope (the pipeline warm-up must not leave a breaker in the check's state file). */
export function outsideBreakerScope<T>(fn: () => T): T {
  return current.exit(fn);
}
