import type { WriteTarget } from '../../core/safe-file.js';
import type { CallBase } from '../../core/transport.js';
import type { StatusMatcher } from './status-spec.js';

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
export type HttpMethod = Uppercase<(typeof HTTP_METHODS)[number]>;

/**
 * Where the response body goes: kept in memory (--json, checks, retries), streamed to -o, streamed to
 * stdout as it arrives (one call, nothing needs it whole), or dropped (load).
 */
export type BodyMode = 'buffer' | 'file' | 'stream' | 'discard';

/** Receives a streamed body (bodyMode 'stream'). */
export interface BodySink {
  /** The response head arrived: print -i headers; return false to have the body kept in memory instead. */
  head(reply: HttpReply): boolean;
  /** One chunk of the decoded body, written with backpressure. */
  chunk(data: Buffer): Promise<void>;
  /** The body ended (not called when the attempt failed midway: what arrived is already out). */
  end(): Promise<void>;
}

/** One HTTP call, as parsed from argv. Immutable across attempts (the Idempotency-Key stays the same). */
export interface HttpCall extends CallBase {
  readonly method: HttpMethod;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly followRedirects: boolean;
  readonly maxRedirects: number;
  readonly bodyMode: BodyMode;
  /** Put the body into the --json result (only --json needs it decoded). */
  readonly describeBody?: boolean;
  /** With bodyMode 'file': the final path; attempts write to a temp file beside it. */
  readonly outputFile?: string;
  /** Where -o really writes, and how (replace through a temp file, or write through a device/FIFO). */
  readonly outputTarget?: WriteTarget;
  readonly decompress: boolean;
  /** With bodyMode 'stream': where the body goes as it arrives. */
  readonly sink?: BodySink;
  readonly expectStatus?: StatusMatcher;
  /** Retries allowed for non-idempotent methods (--retry-unsafe, or an Idempotency-Key header). */
  readonly retryUnsafe: boolean;
}

/** The final response of one attempt (after redirects). */
export interface HttpReply {
  status: number;
  statusText: string;
  /** `HTTP/1.1` or `HTTP/2` (from ALPN). */
  httpVersion: string;
  headers: Record<string, string | string[]>;
  /** Decoded body when bodyMode is 'buffer'. */
  body?: Buffer;
  /** Bytes of the (decoded) body received. */
  bytes: number;
  /** With bodyMode 'stream': the body went to the sink as it arrived (renderers must not print it again). */
  streamed?: boolean;
  /** With bodyMode 'file': the temp file holding the body, renamed into place only when the call succeeds. */
  tempFile?: string;
  /** The final URL after redirects. */
  url: string;
  redirects: number;
}
