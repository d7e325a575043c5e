import type { Root } from 'protobufjs';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { UsageError } from '../../errors/comms-error.js';
import type { GrpcCall, GrpcReply } from './call.js';
import { classifyGrpc } from './classify.js';
import type { GrpcConnection } from './connection.js';
import { decodeToJson } from './json-codec.js';
import { decodeStatusDetails, retryDelayMs, STATUS_DETAILS_KEY } from './status-details.js';

export interface GrpcTransportOptions {
  /** The gRPC deadline of each attempt (--timeout). */
  deadlineMs: number;
  emitDefaults: boolean;
  /** The schema, for custom error-detail types. */
  schema?: Root;
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
    const raw = await this.#conn.invoke({
      kind: call.method.kind,
      path: call.method.path,
      metadata: call.metadata,
      requests: call.requests(),
      deadlineMs: this.#options.deadlineMs,
      signal: ctx.signal,
      timing: ctx.timing,
      onMessage: async (bytes, index) => {
        let json: unknown;
        try {
          json = decodeToJson(responseType, bytes, { emitDefaults });
        } catch (err) {
          throw new UsageError(
            `cannot decode response ${index + 1} as ${responseType.fullName.slice(1)}: ${(err as Error).message}`,
            {
              hint: 'the schema may not match the server (try reflection, or the server’s own .proto)',
            },
          );
        }
        if (call.onMessage) await call.onMessage(json, index);
        else messages.push(json);
      },
    });
    const details = raw.detailsBin ? await decodeStatusDetails(raw.detailsBin, this.#options.schema) : [];
    const retryAfterMs = retryDelayMs(details);
    return { ...raw, messages, details, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  classify(outcome: Outcome<GrpcReply>, call: GrpcCall): Verdict {
    return classifyGrpc(outcome, call);
  }

  describe(reply: GrpcReply, call: GrpcCall): ResultFields {
    const streamed = call.method.kind !== 'unary' && call.method.kind !== 'client streaming';
    return {
      ...(reply.message && reply.code !== 0 ? { message: reply.message } : {}),
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
