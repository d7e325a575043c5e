import type {
  AttemptContext,
  CallBase,
  Outcome,
  ResultFields,
  Transport,
  Verdict,
} from '../core/transport.js';
import type { AppendResult, ExpectedVersion, NewEvent } from './event.js';
import type { EventStore } from './store.js';

/** One append, as the pipeline carries it (load mode of `events append`). */
export interface AppendCall extends CallBase {
  readonly event: NewEvent;
  readonly expected: ExpectedVersion;
}

/**
 * `events append` as a Transport, so load mode (`-n`, `--rate`...) runs appends through the same
 * pipeline as every other call: retries, timeouts, the breaker and the latency summary. Every call
 * carries its event id, so a retried append is idempotent (the store returns the original event).
 * The store is the command's: opened before the run and closed after it.
 */
export class AppendTransport implements Transport<AppendCall, AppendResult> {
  readonly kind = 'events' as const;
  readonly #store: EventStore;

  constructor(store: EventStore) {
    this.#store = store;
  }

  attempt(call: AppendCall, _ctx: AttemptContext): Promise<AppendResult> {
    return this.#store.append(call.event, call.expected);
  }

  classify(outcome: Outcome<AppendResult>): Verdict {
    if (!outcome.error)
      return {
        ok: true,
        retryable: false,
        peerFault: false,
        status: outcome.reply.duplicate ? 'duplicate' : 'appended',
      };
    const { error } = outcome;
    // A version conflict is an answer (exit 1), not a fault; an unreachable store or a timeout may pass.
    const transient = error.kind === 'connect' || error.kind === 'timeout';
    return {
      ok: false,
      retryable: transient,
      peerFault: transient,
      error,
      ...(error.code === 'COMMS_ERR_VERSION_CONFLICT' ? { status: 'conflict' } : {}),
      ...(error.code === 'COMMS_ERR_ID_CONFLICT' ? { status: 'id-conflict' } : {}),
    };
  }

  describe(reply: AppendResult): ResultFields {
    return { duplicate: reply.duplicate, event: reply.event };
  }

  async close(): Promise<void> {}
}
