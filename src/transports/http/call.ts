import type { FormData } from 'undici';
import type { WriteTarget } from '../../core/safe-file.js';
import type { CallBase } from '../../core/transport.js';
import type { CommsError } from '../../errors/comms-error.js';
import type { CookieSession } from './cookies.js';
import type { DigestCredentials } from './digest.js';
import type { StatusMatcher } from './status-spec.js';

/** The methods a lone first argument is recognised as (`http get` is a missing URL); any token is sent. */
export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'trace'] as const;
/** The request method as sent: one of the usual ones upper-cased, or any token given with -X. */
export type HttpMethod = string;

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
  /** -F/--form-string: a multipart body, encoded by undici as it is written (file parts stream from disk). */
  readonly form?: FormData;
  /** What -v shows of the form's parts. */
  readonly formSummary?: readonly string[];
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
  /** --retries: how many retries were asked for (the hint for a status that is not retried needs it). */
  readonly retries?: number;
  /** --retry-on: statuses retried besides the default ones (429, 502, 503, 504). */
  readonly retryOn?: StatusMatcher;
  /** --max-body: most decoded bytes held in memory (--json, --expect-body/json); 0 = no cap. */
  readonly maxBody?: number;
  /** -v -L: each redirect hop as it is followed. */
  readonly onRedirect?: (hop: RedirectHop) => void;
  /** -b FILE / --cookie-jar: the run's cookies, sent per request and updated by every Set-Cookie (each -L hop). */
  readonly cookies?: CookieSession;
  /** --digest: answer a 401's Digest challenge once with these credentials (instead of Basic). */
  readonly digest?: DigestCredentials;
  /** -C/--continue-at: ask for the body from an offset on (Range), appending it to -o. */
  readonly resume?: ResumePlan;
  /** TLS settings a handshake error is explained with (--servername, whether --cert was given). */
  readonly tlsInfo?: { servername?: string; clientCert: boolean };
}

/**
 * -C/--continue-at. `offset` is the first byte asked for (0: no Range header, as curl). With -o
 * (`append`), each attempt appends to the file and asks from the offset plus what earlier attempts
 * appended; `fileSize` is the file's size before the call (absent: it did not exist), restored when
 * the call fails.
 */
export interface ResumePlan {
  readonly offset: number;
  readonly append: boolean;
  readonly fileSize?: number;
}

/** One redirect followed by -L. */
export interface RedirectHop {
  status: number;
  statusText: string;
  httpVersion: string;
  from: string;
  location: string;
  to: string;
  method: string;
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
  /**
   * -C: the server had nothing more to send (a 416 to the Range, or a 200 exactly as long as the
   * offset), which curl treats as a finished download: the body was dropped, the call succeeded.
   */
  rangeDone?: boolean;
  /** -C: the offset this attempt asked for (Range: bytes=N-); 0 when no Range was sent. */
  rangeFrom?: number;
  /** The final URL after redirects. */
  url: string;
  redirects: number;
  /** --json: the body as the result shows it, decoded once (exact numbers). */
  described?: { body: unknown; bodyEncoding?: 'base64' };
  /**
   * comms-cli could not do its own part with this response (--max-body exceeded, a body too deep or
   * too long to re-encode): the verdict is a local failure (exit 6) that keeps status and headers.
   */
  localFailure?: CommsError;
}
