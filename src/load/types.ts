import type { ResultCheck } from '../core/expect.js';
import type { CallPipeline } from '../core/run-call.js';
import type { CallBase, Transport } from '../core/transport.js';
import type { Output } from '../output/output.js';
import type { ConnectionsSummary } from './connections.js';
import type { LoadPlan } from './plan.js';

/** Everything load mode needs to turn one call into many through the same pipeline. */
export interface LoadSpec<C extends CallBase, R> {
  transport: Transport<C, R>;
  /** The n-th call (1-based): templates like {{seq}} are expanded here. */
  makeCall(seq: number): C;
  pipeline: CallPipeline;
  /** The parsed load options. */
  plan: LoadPlan;
  output: Output;
  signal: AbortSignal;
  /** Per-call expectations (e.g. --expect-status): a failed check counts as an error of kind expectation. */
  checks: readonly ResultCheck<R>[];
  /** Bytes of one reply, for bytes/s (optional). */
  replyBytes?(reply: R): number;
  /**
   * Transports holding long-lived connections (ws): their handshakes and closes, asked once at the
   * end and added to the summary (message latency stays the call's round trip).
   */
  connections?(): ConnectionsSummary;
}
