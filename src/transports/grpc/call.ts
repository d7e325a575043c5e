import type { Metadata } from '@grpc/grpc-js';
import type { CallBase } from '../../core/transport.js';
import type { RawCallResult } from './connection.js';
import type { ResolvedMethod } from './schema.js';
import type { StatusDetail } from './status-details.js';

/** One gRPC call, any kind, as the pipeline carries it. */
export interface GrpcCall extends CallBase {
  readonly method: ResolvedMethod;
  readonly metadata: Metadata;
  /**
   * The request messages, fresh for each attempt: a unary request is re-sent on retry; a stream
   * read from stdin can only be produced once (the command allows no retries for those).
   */
  requests(): AsyncIterable<Buffer> | Iterable<Buffer>;
  /** Status codes to retry (UNAVAILABLE, plus --retry-on). */
  readonly retryOn: ReadonlySet<number>;
  /**
   * Streams: print each response as it arrives (`size`: its protobuf bytes on the wire). Absent:
   * responses are kept in the reply.
   */
  onMessage?(message: unknown, index: number, size: number): Promise<void>;
  /** Response headers arrived (a check's background step is ready once the server answered). */
  onHeaders?(): void;
  /** Keep streamed responses in the reply too (--expect-json / --expect-body judge them). */
  readonly keepMessages?: boolean;
  /**
   * Load mode when nothing reads the responses (no --expect-body/--expect-json, no --json-all): each
   * is still checked to be well-formed protobuf (a broken peer stays an error) but never decoded to
   * JSON, and `messages` stays empty.
   */
  readonly skipDecode?: boolean;
  /**
   * Load mode when nothing reads response headers or trailers either (no --expect-header, no
   * --json-all): they are not copied into the reply (`headers`/`trailers` stay empty).
   */
  readonly skipMetadata?: boolean;
  /** --expect-status: these statuses succeed, every other fails (exit 1). Absent: OK only. */
  readonly expectStatus?: ReadonlySet<number>;
}

/** The outcome of one attempt: the status, metadata, decoded details, and the responses not streamed out. */
export interface GrpcReply extends RawCallResult {
  /** Responses in proto3 JSON (only those not handed to `onMessage`). */
  messages: unknown[];
  details: StatusDetail[];
  retryAfterMs?: number;
}
