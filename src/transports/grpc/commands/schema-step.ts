import type { Metadata } from '@grpc/grpc-js';
import { type CallOutcome, CallPipeline, type ResilienceOptions } from '../../../core/run-call.js';
import type {
  AttemptContext,
  CallBase,
  Outcome,
  ResultFields,
  Transport,
  Verdict,
} from '../../../core/transport.js';
import { formatAttempt } from '../../../output/human.js';
import type { Output } from '../../../output/output.js';
import type { GrpcConnection } from '../connection.js';
import { grpcStatusOfError } from '../errors.js';
import { type LoadedSchema, loadSchema, type SchemaPlan } from './common.js';

/** Reflection answers slower than a call on a cold server: it gets at least this long per attempt. */
const MIN_REFLECTION_TIMEOUT_MS = 10_000;

/** One reflection lookup, as the pipeline carries it. */
interface SchemaCall extends CallBase {
  readonly symbol: string;
}

/**
 * The schema fetch (server reflection) as a Transport, so it runs through the same CallPipeline as
 * the call: --max-time and Ctrl-C cut it short, a failed connection is retried per --retries with the
 * shared backoff, and an open breaker short-circuits it before anything is sent.
 */
class SchemaTransport implements Transport<SchemaCall, LoadedSchema> {
  readonly kind = 'grpc' as const;
  readonly #fetch: (symbol: string, timeoutMs: number, signal: AbortSignal) => Promise<LoadedSchema>;
  readonly #timeoutMs: number;

  constructor(
    fetch: (symbol: string, timeoutMs: number, signal: AbortSignal) => Promise<LoadedSchema>,
    timeoutMs: number,
  ) {
    this.#fetch = fetch;
    this.#timeoutMs = timeoutMs;
  }

  attempt(call: SchemaCall, ctx: AttemptContext): Promise<LoadedSchema> {
    return this.#fetch(call.symbol, this.#timeoutMs, ctx.signal);
  }

  classify(outcome: Outcome<LoadedSchema>): Verdict {
    if (!outcome.error) return { ok: true, retryable: false, peerFault: false };
    const kind = outcome.error.kind;
    return {
      ok: false,
      retryable: kind === 'connect',
      peerFault: kind === 'connect' || kind === 'timeout',
      error: outcome.error,
      status: grpcStatusOfError(outcome.error),
    };
  }

  describe(): ResultFields {
    return {};
  }

  async close(): Promise<void> {}
}

export interface SchemaStepOptions {
  conn: GrpcConnection;
  schema: SchemaPlan;
  /** The service to ask reflection about. */
  symbol: string;
  /** What results name as the operation (the method the user asked for). */
  operation: string;
  metadata: Metadata;
  resilience: ResilienceOptions;
  output: Output;
  /** Root signal: Ctrl-C, and for a single call the --max-time budget of the whole command. */
  signal: AbortSignal;
}

/**
 * Load the schema for a call. From --proto/--protoset it is read locally; from reflection it goes
 * through a CallPipeline with the call's resilience options (per attempt: max(--timeout, 10s), or no
 * deadline with --timeout 0). On failure the pipeline's Result comes back instead, with transport,
 * target, operation and attempts, for the caller to print.
 *
 * Breaker: the step shares the target's breaker (same key, same --breaker-state file), so an open
 * breaker stops it (exit 5) and failed connections count. A successful lookup is not written back:
 * the call that follows is what judges the peer, and a reflection success must not reset its count.
 */
export async function fetchSchema(opts: SchemaStepOptions): Promise<LoadedSchema | CallOutcome<never>> {
  const { conn, schema, metadata, resilience, output } = opts;
  if (schema.source !== 'reflection')
    return loadSchema(conn, schema, opts.symbol, metadata, resilience.timeoutMs, opts.signal);
  const timeoutMs = resilience.timeoutMs > 0 ? Math.max(resilience.timeoutMs, MIN_REFLECTION_TIMEOUT_MS) : 0;
  const pipeline = new CallPipeline({ ...resilience, timeoutMs }, opts.signal, {
    onAttempt(record) {
      const line = `reflection ${formatAttempt(output, record, resilience.retries + 1)}`;
      if (!record.ok && resilience.retries > 0) output.info(line);
      else output.verbose(line);
    },
  });
  const transport = new SchemaTransport(
    (symbol, ms, signal) => loadSchema(conn, schema, symbol, metadata, ms, signal),
    timeoutMs,
  );
  const { result, reply } = await pipeline.run(transport, {
    target: conn.target.display,
    operation: opts.operation,
    symbol: opts.symbol,
  });
  if (reply && result.ok) return reply;
  // Persist failed connections (and a breaker they opened) for the next invocation; a lookup the
  // server answered (e.g. unknown symbol) says nothing about the peer's health.
  if (result.error?.kind !== 'usage') await pipeline.close();
  return { result };
}
