import type { Outcome, Verdict } from '../../core/transport.js';
import { ExpectationError, ResponseError, TimeoutError } from '../../errors/comms-error.js';
import type { GrpcCall, GrpcReply } from './call.js';
import { type ConnectContext, connectErrorFrom, grpcStatusOfError } from './errors.js';
import { escapeControls } from './escape.js';
import { codeOf as code, statusName } from './status-codes.js';

/** Retried by default (the contract); `--retry-on CODE,...` adds more. */
export const DEFAULT_RETRY_ON: readonly number[] = [code('UNAVAILABLE')];

/** Statuses that say the peer (not the request) is in trouble: they count towards the breaker. */
const PEER_FAULTS = new Set(
  ['UNAVAILABLE', 'INTERNAL', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'UNKNOWN'].map(code),
);

/**
 * The only place that judges gRPC outcomes. OK succeeds. DEADLINE_EXCEEDED is a timeout (exit 4).
 * UNAVAILABLE before any answer is a connection failure (exit 3, TLS failures with a hint). Every other
 * non-OK status is a failed call (exit 1) named by its status. Retryable: the codes in `call.retryOn`
 * (UNAVAILABLE by default), and for streams only while no response message has arrived, since
 * what was printed cannot be taken back.
 */
export function classifyGrpc(outcome: Outcome<GrpcReply>, call: GrpcCall, ctx: ConnectContext = {}): Verdict {
  if (outcome.error) {
    const kind = outcome.error.kind;
    return {
      ok: false,
      retryable: kind === 'connect' || (kind === 'timeout' && call.retryOn.has(code('DEADLINE_EXCEEDED'))),
      peerFault: kind === 'connect' || kind === 'timeout',
      error: outcome.error,
      // Every gRPC result names a status, also when the call never got one from the server.
      status: grpcStatusOfError(outcome.error),
    };
  }
  const reply = outcome.reply;
  const status = reply.status;
  if (call.expectStatus) return judgeExpected(reply, call, call.expectStatus, ctx);
  if (reply.code === 0) return { ok: true, retryable: false, peerFault: false, status };
  // grpc-message is the peer's text: escaped for the terminal (the result's `message` keeps it exact).
  const text = reply.message ? `${status}: ${escapeControls(reply.message)}` : status;
  const retryable = call.retryOn.has(reply.code) && reply.received === 0;
  const base = {
    ok: false,
    retryable,
    peerFault: PEER_FAULTS.has(reply.code),
    status,
    ...(reply.retryAfterMs !== undefined ? { retryAfterMs: reply.retryAfterMs } : {}),
  };
  if (status === 'DEADLINE_EXCEEDED') {
    return {
      ...base,
      error: new TimeoutError(`deadline exceeded (${call.target} ${call.operation})`, {
        code: 'COMMS_ERR_DEADLINE',
      }),
    };
  }
  // Decided by whether the server was reached (connection state), never by the status text: a server
  // may well answer UNAVAILABLE "Failed to connect to upstream database" itself.
  if (status === 'UNAVAILABLE' && !reply.connected) {
    return { ...base, error: connectErrorFrom(reply.message, call.target, ctx) };
  }
  const hint =
    status === 'UNIMPLEMENTED'
      ? 'the server does not implement this method: check the name with `comms-cli grpc list`'
      : status === 'UNAUTHENTICATED'
        ? "send credentials as metadata, e.g. -H 'authorization: Bearer TOKEN'"
        : undefined;
  return {
    ...base,
    error: new ResponseError(text, { code: `COMMS_ERR_GRPC_${status}`, ...(hint ? { hint } : {}) }),
  };
}

/**
 * --expect-status: an expected status is a success whatever it is (NOT_FOUND for a test of a missing
 * record); any other is an expectation failure (exit 1) naming both, unless the verdict without it is
 * a timeout or a connection failure (exit 4, 3), which say more. Retries and the breaker see the
 * status as they would without the flag, so an UNAVAILABLE that is not expected is still retried.
 */
function judgeExpected(
  reply: GrpcReply,
  call: GrpcCall,
  expected: ReadonlySet<number>,
  ctx: ConnectContext,
): Verdict {
  const status = reply.status;
  if (expected.has(reply.code)) return { ok: true, retryable: false, peerFault: false, status };
  const plain = classifyGrpc({ reply }, { ...call, expectStatus: undefined }, ctx);
  if (plain.error && plain.error.kind !== 'response') return plain;
  const want = [...expected].map(statusName).join(',');
  const text = reply.message && reply.code !== 0 ? `${status}: ${escapeControls(reply.message)}` : status;
  return {
    ...plain,
    ok: false,
    error: new ExpectationError(`expected status ${want}, got ${text}`),
  };
}
