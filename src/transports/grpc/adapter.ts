import type { Root } from 'protobufjs';
import { TimingRecorder } from '../../core/timing.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { ResponseError } from '../../errors/comms-error.js';
import type { GrpcCall, GrpcReply } from './call.js';
import { classifyGrpc } from './classify.js';
import { GrpcConnection, type InvokeOptions } from './connection.js';
import { withGrpcStatus } from './errors.js';
import { decodeToJson } from './json-codec.js';
import type { ResolvedMethod } from './schema.js';
import { decodeStatusDetails, retryDelayMs, STATUS_DETAILS_KEY } from './status-details.js';
import { parseGrpcTarget } from './target.js';
import { checkWire, isWireError } from './wire-check.js';

export interface GrpcTransportOptions {
  /** The gRPC deadline of each attempt (--timeout). */
  deadlineMs: number;
  emitDefaults: boolean;
  /** The schema, for custom error-detail types. */
  schema?: Root;
  /** The method called: warmUp runs the same kind of call with its response type. */
  method?: ResolvedMethod;
}

/**
 * A response message as proto3 JSON, strictly: a truncated field, bad framing or invalid UTF-8 in a
 * string field is a broken peer (INTERNAL, exit 1), never a partial value or U+FFFD.
 */
export function decodeResponse(
  type: ResolvedMethod['responseType'],
  bytes: Uint8Array,
  emitDefaults: boolean,
  index: number,
): unknown {
  try {
    checkWire(type, bytes);
    return decodeToJson(type, bytes, { emitDefaults });
  } catch (err) {
    throw badMessage(type, index, err);
  }
}

/** A response checked for well-formed protobuf only (load mode's `skipDecode`). */
export function checkResponse(type: ResolvedMethod['responseType'], bytes: Uint8Array, index: number): void {
  try {
    checkWire(type, bytes);
  } catch (err) {
    throw badMessage(type, index, err);
  }
}

function badMessage(type: ResolvedMethod['responseType'], index: number, err: unknown): Error {
  const what = `response ${index + 1} is not a valid ${type.fullName.slice(1)}`;
  return withGrpcStatus(
    new ResponseError(`${what}: ${(err as Error).message}`, {
      code: 'COMMS_ERR_GRPC_BAD_MESSAGE',
      hint: isWireError(err)
        ? 'the server sent malformed protobuf'
        : 'the schema may not match the server (try reflection, or the server’s own .proto)',
      cause: err,
    }),
    'INTERNAL',
  );
}

/**
 * `Transport<GrpcCall, GrpcReply>`: one attempt is one gRPC call of any kind over a shared channel.
 * The per-attempt signal maps to the call: aborting cancels it, and the gRPC deadline is set from
 * --timeout so the server sees it too (grpc-timeout).
 */
export class GrpcTransport implements Transport<GrpcCall, GrpcReply> {
  readonly kind = 'grpc' as const;
  readonly #conn: GrpcConnection;
  readonly #options: GrpcTransportOptions;

  constructor(connection: GrpcConnection, options: GrpcTransportOptions) {
    this.#conn = connection;
    this.#options = options;
  }

  async attempt(call: GrpcCall, ctx: AttemptContext): Promise<GrpcReply> {
    const messages: unknown[] = [];
    const { responseType } = call.method;
    const emitDefaults = this.#options.emitDefaults;
    const options: InvokeOptions = {
      kind: call.method.kind,
      path: call.method.path,
      metadata: call.metadata,
      requests: call.requests(),
      deadlineMs: this.#options.deadlineMs,
      signal: ctx.signal,
      timing: ctx.timing,
      onMessage: call.skipDecode
        ? (bytes, index) => checkResponse(responseType, bytes, index)
        : async (bytes, index) => {
            const json = decodeResponse(responseType, bytes, emitDefaults, index);
            if (call.onMessage) await call.onMessage(json, index, bytes.byteLength);
            if (!call.onMessage || call.keepMessages) messages.push(json);
          },
    };
    if (call.onHeaders) options.onHeaders = call.onHeaders;
    if (call.skipMetadata) options.records = false;
    // The pooled per-attempt deadline's callback: no abort listener added and removed per call.
    if (ctx.onAbort) options.onAbort = ctx.onAbort;
    const raw = await this.#conn.invoke(options);
    if (raw.detailsBin === undefined) {
      // No status details (every OK call): the reply is the raw result with its two fields added, in
      // the same key order as the copy below, without copying it.
      const reply = raw as GrpcReply;
      reply.messages = messages;
      reply.details = [];
      return reply;
    }
    const details = raw.detailsBin ? await decodeStatusDetails(raw.detailsBin, this.#options.schema) : [];
    const retryAfterMs = retryDelayMs(details);
    return { ...raw, messages, details, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  /**
   * Pay grpc-js' and protobufjs' first-use costs before any clock starts (issue 10: the first call of
   * a process spent 10-20 ms in channel set-up, HTTP/2 session code and JIT, which landed in
   * `connect`, and in a load run's p99): one call of the same kind and path over a throwaway
   * plaintext channel to an in-process node:http2 server that answers an empty message, decoded with
   * the method's response type. The real peer is never contacted; failures are ignored (the first
   * call then just pays the cost).
   */
  async warmUp(): Promise<void> {
    const method = this.#options.method;
    if (!method) return;
    const http2 = await import('node:http2');
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('error', () => {});
      stream.on('data', () => {});
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5));
    });
    let conn: GrpcConnection | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      const { port } = server.address() as { port: number };
      const grpc = this.#conn.grpc;
      conn = new GrpcConnection(grpc, parseGrpcTarget(`127.0.0.1:${port}`), {});
      await conn.invoke({
        kind: method.kind,
        path: method.path,
        metadata: new grpc.Metadata(),
        requests: [Buffer.alloc(0)],
        deadlineMs: 5000,
        signal: new AbortController().signal,
        timing: new TimingRecorder(),
        onMessage: (bytes, index) => {
          decodeResponse(method.responseType, bytes, this.#options.emitDefaults, index);
        },
      });
    } catch {
      // best effort
    } finally {
      conn?.close();
      server.close();
    }
  }

  classify(outcome: Outcome<GrpcReply>, call: GrpcCall): Verdict {
    return classifyGrpc(outcome, call, { clientCert: this.#conn.clientCert, tls: this.#conn.tls });
  }

  describe(reply: GrpcReply, call: GrpcCall): ResultFields {
    const streamed = call.method.kind !== 'unary' && call.method.kind !== 'client streaming';
    return {
      // The server's status message; grpc-js' own text for a call that never reached it (`No connection
      // established. Last error: ...`) is not shown: the error says it cleanly.
      ...(reply.message && reply.code !== 0 && reply.connected ? { message: reply.message } : {}),
      headers: reply.headers,
      trailers: withoutDetails(reply.trailers),
      ...(reply.details.length ? { details: reply.details } : {}),
      ...(streamed ? { messages: reply.received } : reply.messages.length ? { data: reply.messages[0] } : {}),
      ...(call.method.kind === 'client streaming' || call.method.kind === 'bidi streaming'
        ? { sent: reply.sent }
        : {}),
    };
  }

  async close(): Promise<void> {
    this.#conn.close();
  }
}

function withoutDetails(trailers: Record<string, string | string[]>): Record<string, string | string[]> {
  const { [STATUS_DETAILS_KEY]: _bin, ...rest } = trailers;
  return rest;
}
