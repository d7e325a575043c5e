import type { WriteTarget } from '../../core/safe-file.js';
import type { CallBase } from '../../core/transport.js';
import type { StatusMatcher } from './status-spec.js';

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
export type HttpMethod = Uppercase<(typeof HTTP_METHODS)[number]>;

/** Where the response body goes: kept in memory (stdout, --json, checks), streamed to -o, or dropped (load). */
export type BodyMode = 'buffer' | 'file' | 'discard';

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
  /** With bodyMode 'file': the temp file holding the body, renamed into place only when the call succeeds. */
  tempFile?: string;
  /** The final URL after redirects. */
  url: string;
  redirects: number;
}
