import { CALL_OPTIONS } from '../../command/call-options.js';
import { EXPECT_OPTIONS } from '../../command/expect-options.js';
import { flag, integer, list, type OptionValues, path, text } from '../../command/option.js';
import { TLS_OPTIONS } from '../../command/tls-options.js';
import { TRACE_OPTIONS } from '../../command/trace.js';
import type { OptionEntry } from '../../core/options.js';
import { UsageError } from '../../errors/comms-error.js';
import { parseConnectTo, parseResolve } from './connect-to.js';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `100MB`, `512k`, `1GiB`, `2048` (bytes); K, M and G are powers of 1024, as curl's --max-filesize. */
export function parseSize(raw: string, flag: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(raw);
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  const n = m && unit !== undefined ? Math.floor(Number(m[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError(`invalid ${flag} '${raw}': expected a size such as 100MB, 512k or 0 (no limit)`);
  return n;
}

/** A size option (bytes). */
function size(flags: string, help: string, defaultBytes: number, defaultText: string): OptionEntry<number> {
  return {
    flags,
    help,
    kind: 'text',
    repeatable: false,
    default: defaultBytes,
    defaultText,
    parse: parseSize,
  };
}

/** -C/--continue-at: `-` (the -o file's size) or a byte offset, as curl's -C. */
export type ContinueAt = number | 'end-of-file';

export function parseContinueAt(raw: string, flag: string): ContinueAt {
  if (raw === '-') return 'end-of-file';
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw new UsageError(
      `invalid ${flag} '${raw}': expected '-' (resume from the size of the -o file) or a byte offset such as 1024`,
    );
  return n;
}

/** The -C entry: absent, '-' or an offset. */
function offsetOrDash(flags: string, help: string): OptionEntry<ContinueAt | undefined> {
  return { flags, help, kind: 'text', repeatable: false, default: undefined, parse: parseContinueAt };
}

/** `comms-cli http` options: declared once; --help, docs, check-file steps and the runner read them. */
export const HTTP_OPTIONS = {
  header: list('-H, --header <header>', "request header 'Name: value' (repeatable)", { mapSyntax: ': ' }),
  data: text('-d, --data <data>', 'request body: text, @file, or @- for stdin'),
  jsonData: text('--json-data <json>', 'JSON request body (text, @file, @-); sets Content-Type and Accept'),
  // ---- curl/HTTPie habits (docs/http.md#coming-from-curl) ----
  request: text(
    '-X, --request <method>',
    'the request method, sent as given (PURGE, PROPFIND...); with -X the URL may be the only argument',
  ),
  form: list(
    '-F, --form <name=content>',
    "multipart/form-data part: 'name=value', 'name=@file' (streamed upload; ;type= ;filename=), 'name=<file' (repeatable)",
  ),
  formString: list(
    '--form-string <name=value>',
    'multipart/form-data text part, taken literally (repeatable)',
  ),
  dataUrlencode: list(
    '--data-urlencode <data>',
    "URL-encoded body data: 'content', 'name=content', '@file', 'name@file'; joined with -d by & (repeatable)",
  ),
  get: flag('-G, --get', 'send -d/--data-urlencode data as the query string of a GET'),
  query: list('--query <name=value>', 'add a query parameter (repeatable)', { mapSyntax: '=' }),
  cookie: text(
    '-b, --cookie <data|file>',
    "send cookies: 'name=value; n2=v2' (an argument with '=') or a Netscape cookie file, which also starts the cookie engine",
    { secret: true },
  ),
  cookieJar: path(
    '--cookie-jar <file>',
    "write every cookie to FILE (Netscape format, as curl's -c) after the call, even a failed one",
  ),
  user: text('-u, --user <user:password>', 'basic authentication', { secret: true }),
  digest: flag('--digest', 'HTTP Digest authentication with -u (RFC 7616: MD5, SHA-256; qop=auth)'),
  location: flag('-L, --location', 'follow redirects'),
  maxRedirs: integer('--max-redirs <n>', 'most redirects to follow with -L', { default: 10 }),
  output: path(
    '-o, --output <file>',
    'write the body to a file (streamed; only kept when the call succeeds)',
  ),
  continueAt: offsetOrDash(
    '-C, --continue-at <offset|->',
    "resume a download: '-' from the size of the -o file, or N bytes in; sends Range: bytes=N- and appends the 206 body to -o",
  ),
  include: flag('-i, --include', 'show response headers (on stderr)'),
  // curl's -s hides the progress meter and the status line; comms-cli's -q is what curl -sS does
  // (errors still printed), and that is what a curl user wants from `-s` in a script.
  silent: flag('-s, --silent', 'as curl -s: the same as -q (errors are still printed, as curl -sS)'),
  showError: flag('-S, --show-error', 'as curl -S: accepted (errors are always printed)'),
  decompress: flag('--no-decompress', 'do not decode gzip/deflate/br bodies'),
  resolve: list(
    '--resolve <host:port:addr>',
    'connect to ADDR for HOST:PORT (Host header and TLS name unchanged), as curl (repeatable)',
    { each: (raw) => parseResolve(raw) },
  ),
  connectTo: list(
    '--connect-to <h1:p1:h2:p2>',
    'connect to H2:P2 for requests to H1:P1 (empty: any / the same), as curl (repeatable)',
    { each: (raw) => parseConnectTo(raw) },
  ),
  http2: flag(
    '--http2',
    'allow HTTP/2 over https (ALPN): the default for one call; needed in load mode, which uses HTTP/1.1 otherwise',
  ),
  'http1.1': flag('--http1.1', 'offer only HTTP/1.1 over https (no h2 in ALPN)'),
  pipelining: integer(
    '--pipelining <n>',
    'load mode: requests in flight on one HTTP/1.1 connection, as autocannon -p (default 1; connections default to -c / n)',
    { min: 1, max: 1000 },
  ),
  ...TLS_OPTIONS,
  expectStatus: text(
    '--expect-status <spec>',
    "expected status: 200, 2xx, '200,204', 200-299 (exit 1 otherwise)",
  ),
  ...EXPECT_OPTIONS,
  retryUnsafe: flag('--retry-unsafe', 'allow retries of POST/PATCH (non-idempotent) requests'),
  retryOn: text(
    '--retry-on <statuses>',
    "also retry these statuses with --retries, e.g. '500,408' or 5xx (429, 502, 503, 504 always are)",
  ),
  maxBody: size(
    '--max-body <size>',
    'most body bytes (decoded) held in memory for --json and --expect-body/--expect-json; 0 = no limit (exit 6 beyond it)',
    100 * 1024 * 1024,
    '100MB',
  ),
  idempotencyKey: text(
    '--idempotency-key <key|auto>',
    'send Idempotency-Key (auto: one UUID kept across retries); makes retries safe',
  ),
  writeOut: text(
    '-w, --write-out <format>',
    "print FORMAT after the transfer with curl's variables (%{http_code}, %{time_connect}, %{time_starttransfer}, %{time_total}, %{json}...); @file reads it",
  ),
  ...TRACE_OPTIONS,
  ...CALL_OPTIONS,
};
export type HttpValues = OptionValues<typeof HTTP_OPTIONS>;
