import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { type CallSettings, callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { withTraceparent } from '../../../command/trace.js';
import { parseExact, stringifyExact } from '../../../core/exact-json.js';
import type { ResultCheck } from '../../../core/expect.js';
import { fileErrorReason, parseHeader, parseJsonArg, readFileArg, readPayload } from '../../../core/input.js';
import { packageVersion } from '../../../core/package-root.js';
import type { CallOutcome } from '../../../core/run-call.js';
import {
  commitTemp,
  discardTemp,
  resolveWriteTarget,
  type WriteTarget,
  writeFileSafely,
} from '../../../core/safe-file.js';
import { expandTemplate, hasTemplate } from '../../../core/template.js';
import { LocalError, UsageError } from '../../../errors/comms-error.js';
import { ExitCode, worstExitCode } from '../../../errors/exit-codes.js';
import { escapeInline } from '../../../output/escape.js';
import { reportResult } from '../../../output/human.js';
import type { Output } from '../../../output/output.js';
import { redactHeaders, redactUrl } from '../../../output/redact.js';
import { HttpTransport } from '../adapter.js';
import {
  type BodyMode,
  type BodySink,
  HTTP_METHODS,
  type HttpCall,
  type HttpReply,
  type RedirectHop,
  type ResumePlan,
} from '../call.js';
import { IDEMPOTENT_METHODS } from '../classify.js';
import { routeFor } from '../connect-to.js';
import {
  CookieSession,
  formatNetscape,
  joinCookies,
  type NetscapeCookie,
  parseNetscape,
  withJarCookies,
} from '../cookies.js';
import type { DigestCredentials } from '../digest.js';
import { bodyChecks } from '../expect.js';
import type { HttpValues } from '../flags.js';
import { buildForm, parseFormSpec, urlencodeData } from '../form.js';
import { parseStatusSpec } from '../status-spec.js';
import { isMethodWord, parseHttpUrl } from '../url.js';
import { parseWriteOut, renderWriteOut, writeOutValues } from '../write-out.js';

export { parseHttpUrl };

/**
 * -o is checked before anything is sent, and its target resolved once (core/safe-file.ts): a regular
 * file is replaced through a temp file beside it only when the call succeeds; a device, FIFO or socket
 * is written through; a symlink writes what it points to. Body expectations need the body in memory.
 */
function checkOutputPath(file: string, bodyChecks: boolean): WriteTarget {
  if (bodyChecks) throw new UsageError('-o/--output cannot be combined with --expect-body or --expect-json');
  return checkWritable(file, '-o');
}

/** A file comms-cli will write (-o, --cookie-jar): its directory exists and is writable, or exit 2 now. */
function checkWritable(file: string, flag: string): WriteTarget {
  let target: WriteTarget;
  try {
    target = resolveWriteTarget(file);
  } catch (err) {
    throw new UsageError(`cannot write ${flag} file '${file}': ${fileErrorReason(err)}`);
  }
  if (target.how === 'through') {
    try {
      if (statSync(target.path).isDirectory())
        throw new UsageError(`cannot write ${flag} file '${file}': is a directory`);
    } catch (err) {
      if (err instanceof UsageError) throw err;
    }
    return target;
  }
  const dir = dirname(target.path);
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such directory' : fileErrorReason(err);
    throw new UsageError(`cannot write ${flag} file '${file}': ${why}`);
  }
  return target;
}

/**
 * -C/--continue-at, as curl: `-` is the -o file's size (0 when it does not exist or there is no -o:
 * then no Range is sent), N asks for bytes from N on. With -o the body is appended to the file.
 *
 * Why append rather than copy the file to a temp and rename: resuming is for large files, and a copy
 * would rewrite every byte already there. Appending never touches those bytes, and only a body that
 * continues the file is appended (a 206 whose Content-Range starts at the offset), so whatever ends
 * the call (a cut transfer, Ctrl-C, SIGKILL) the file is still the server's first N bytes, which the
 * next `-C -` continues (see commitOutputFile).
 */
function resumePlan(
  flags: HttpValues,
  method: string,
  target: WriteTarget | undefined,
  has: (name: string) => boolean,
  loadMode: boolean,
): ResumePlan | undefined {
  const at = flags.continueAt;
  if (at === undefined) return undefined;
  if (loadMode) throw new UsageError('-C/--continue-at cannot be used in load mode');
  if (method !== 'GET')
    throw new UsageError(`-C/--continue-at resumes downloads: it needs GET, not ${method}`);
  if (has('range'))
    throw new UsageError("-C/--continue-at sends its own Range header: leave out -H 'Range: ...'");
  if (target?.how === 'through')
    throw new UsageError(`-C/--continue-at appends to a regular file; -o '${flags.output}' is not one`);
  let fileSize: number | undefined;
  if (target) {
    try {
      fileSize = statSync(target.path).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new UsageError(`cannot read -o file '${flags.output}': ${fileErrorReason(err)}`);
    }
  }
  const offset = at === 'end-of-file' ? (fileSize ?? 0) : at;
  return { offset, append: target !== undefined, ...(fileSize !== undefined ? { fileSize } : {}) };
}

/** Headers comms-cli frames itself: overriding them would make the request lie about its body. */
const FRAMING_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
]);

/**
 * A -H header that would corrupt the request is a usage error (exit 2) before anything is sent: CR,
 * LF or NUL in it (header injection), or a framing header comms-cli sets from the body itself.
 */
function checkHeader(raw: string, name: string, value: string): void {
  if (/[\r\n\0]/.test(raw))
    throw new UsageError(`invalid -H ${JSON.stringify(raw)}: header values cannot contain CR, LF or NUL`, {
      hint: 'send one header per -H; repeat -H for several',
    });
  const lower = name.toLowerCase();
  if (lower === 'connection' && /^\s*(close|keep-alive)\s*$/i.test(value)) return;
  if (FRAMING_HEADERS.has(lower))
    throw new UsageError(`-H '${name}: ...' cannot be set: comms-cli frames the body itself`, {
      hint: 'give the body with -d/--data or --json-data; its length is sent for you',
    });
  if (lower === 'expect')
    throw new UsageError(
      `-H '${name}: ${value}' is not supported: comms-cli sends the body with the request`,
      {
        hint: 'leave out the Expect header (curl sends it only for large uploads)',
      },
    );
}

/**
 * -b/--cookie and --cookie-jar, as curl: an argument with '=' is a literal Cookie header (sent to the
 * URL's origin, as a -H Cookie is; not stored), anything else a Netscape cookie file. A file or a
 * --cookie-jar starts the cookie engine (a jar kept across -L hops and retries). A -b file that does not
 * exist is an error, except when it is also the --cookie-jar (the first run of `-b jar -c jar`).
 */
async function cookiesFrom(
  flags: HttpValues,
  headers: Record<string, string>,
  has: (name: string) => boolean,
): Promise<CookieSession | undefined> {
  let initial: NetscapeCookie[] = [];
  const arg = flags.cookie;
  if (arg?.includes('=')) {
    if (/[\r\n\0]/.test(arg))
      throw new UsageError('invalid -b/--cookie: cookie values cannot contain CR, LF or NUL');
    if (!has('cookie')) headers.Cookie = arg;
    else {
      const name = Object.keys(headers).find((k) => k.toLowerCase() === 'cookie') ?? 'Cookie';
      headers[name] = joinCookies(headers[name], arg);
    }
  } else if (arg !== undefined) {
    if (arg === '') throw new UsageError("invalid -b/--cookie '': expected 'name=value' or a cookie file");
    let text: string | undefined;
    try {
      text = readFileSync(arg, 'utf8');
    } catch (err) {
      const sameAsJar = flags.cookieJar !== undefined && resolvePath(flags.cookieJar) === resolvePath(arg);
      if (!((err as NodeJS.ErrnoException).code === 'ENOENT' && sameAsJar))
        throw new UsageError(`cannot read -b/--cookie file '${arg}': ${fileErrorReason(err)}`, {
          hint: "a literal cookie has an '=': -b 'name=value'",
        });
    }
    if (text !== undefined) initial = parseNetscape(text);
  }
  if (flags.cookieJar !== undefined) checkWritable(flags.cookieJar, '--cookie-jar');
  if (flags.cookieJar === undefined && (arg === undefined || arg.includes('='))) return undefined;
  return CookieSession.create(initial);
}

/** --cookie-jar: every cookie, written atomically after the call (also a failed one, as curl does). */
async function writeCookieJar(file: string, session: CookieSession, out: Output): Promise<boolean> {
  try {
    await writeFileSafely(file, formatNetscape(await session.all()));
    return true;
  } catch (err) {
    out.err.write(`error: could not write --cookie-jar file '${file}': ${fileErrorReason(err)}\n`);
    return false;
  }
}

const PROXY_VARS = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy'];

let agentText: string | undefined;
/** `comms-cli/<version>`, read once per process. */
function userAgent(): string {
  agentText ??= `comms-cli/${packageVersion()}`;
  return agentText;
}

/**
 * Ask for the password of `-u user` on the terminal, as curl does: the prompt on stderr, nothing
 * echoed. Without a terminal (CI, a pipe) it is a usage error, not a hang.
 */
async function promptPassword(user: string, ctx: CommandContext): Promise<string> {
  const stdin = ctx.stdin as NodeJS.ReadStream;
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function')
    throw new UsageError(`-u '${user}' has no password and there is no terminal to ask for one`, {
      hint: `give it: -u '${user}:password' (-u '${user}:' sends an empty one)`,
    });
  // Echo goes off before the prompt shows: what is typed as soon as it appears is never echoed.
  stdin.setRawMode(true);
  ctx.stderr.write(`Enter host password for user '${user}':`);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer) => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            stdin.off('data', onData);
            resolve(typed);
            return;
          }
          if (ch === '\u0003') {
            stdin.off('data', onData);
            reject(new UsageError('no password given (interrupted)'));
            return;
          }
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    ctx.stderr.write('\n');
  }
}

/** argv -> HttpCall, validating everything before anything is sent (exit 2 on bad input). */
async function buildCall(
  method: string,
  urlText: string,
  flags: HttpValues,
  ctx: CommandContext,
  loadMode: boolean,
) {
  const url = parseHttpUrl(urlText);
  for (const q of flags.query) {
    const i = q.indexOf('=');
    if (i <= 0) throw new UsageError(`invalid --query '${q}': expected name=value`);
    url.searchParams.append(q.slice(0, i), q.slice(i + 1));
  }
  const headers: Record<string, string> = {};
  // curl: `-H 'Name:'` (no value) leaves out a header comms-cli would send itself (User-Agent,
  // Accept...); `-H 'Name;'` sends it with an empty value.
  const removed = new Set<string>();
  const has = (name: string) =>
    removed.has(name) || Object.keys(headers).some((k) => k.toLowerCase() === name);
  for (const h of withTraceparent(flags.header, flags.traceparent)) {
    const empty = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*;\s*$/.exec(h);
    const [name, value] = empty?.[1] ? [empty[1], ''] : parseHeader(h);
    checkHeader(h, name, value);
    if (value === '' && !empty) {
      removed.add(name.toLowerCase());
      continue;
    }
    const existing = Object.keys(headers).find((k) => k.toLowerCase() === name.toLowerCase());
    // A repeated header is combined into one comma-separated field (RFC 9110 §5.3), as proxies do.
    if (existing !== undefined) headers[existing] = `${headers[existing]}, ${value}`;
    else headers[name] = value;
  }
  let digest: DigestCredentials | undefined;
  if (flags.user !== undefined && !flags.user.includes(':')) {
    // curl: `-u user` asks for the password on the terminal; `-u user:` sends an empty one.
    const password = await promptPassword(flags.user, ctx);
    flags = { ...flags, user: `${flags.user}:${password}` };
  }
  if (flags.user !== undefined) {
    if (flags.digest) {
      const i = flags.user.indexOf(':');
      digest = { user: flags.user.slice(0, i), password: flags.user.slice(i + 1) };
    } else if (!has('authorization'))
      headers.Authorization = `Basic ${Buffer.from(flags.user).toString('base64')}`;
  } else if (url.username) {
    const user = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    if (flags.digest) digest = { user, password };
    else if (!has('authorization'))
      headers.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  if (flags.digest && !digest)
    throw new UsageError('--digest needs credentials: -u user:password', {
      hint: 'comms-cli http get URL --digest -u user:password',
    });
  if (digest && loadMode) throw new UsageError('--digest cannot be used in load mode');
  url.username = '';
  url.password = '';
  const cookies = await cookiesFrom(flags, headers, has);
  const formWanted = flags.form.length + flags.formString.length > 0;
  const urlencoded = flags.data !== undefined || flags.dataUrlencode.length > 0;
  const kinds = [
    urlencoded ? '-d/--data' : '',
    flags.jsonData !== undefined ? '--json-data' : '',
    formWanted ? '-F/--form' : '',
  ].filter(Boolean);
  if (kinds.length > 1) throw new UsageError(`use one kind of body: ${kinds.join(' or ')}, not both`);
  if (flags.get && (formWanted || flags.jsonData !== undefined))
    throw new UsageError(`-G/--get puts -d/--data-urlencode data in the query; it cannot send ${kinds[0]}`);
  let body: Buffer | undefined;
  let form: Awaited<ReturnType<typeof buildForm>> | undefined;
  if (flags.jsonData !== undefined) {
    body = await readPayload(flags.jsonData, '--json-data', ctx.stdin);
    parseJsonArg(body.toString('utf8'), '--json-data');
    if (!has('content-type')) headers['Content-Type'] = 'application/json';
    if (!has('accept')) headers.Accept = 'application/json';
  } else if (urlencoded) {
    // curl joins every -d and --data-urlencode with '&' (here: -d first, then each --data-urlencode).
    const pieces: Buffer[] = [];
    if (flags.data !== undefined) pieces.push(await readPayload(flags.data, '--data', ctx.stdin));
    for (const spec of flags.dataUrlencode) pieces.push(Buffer.from(await urlencodeData(spec, ctx.stdin)));
    const data = Buffer.concat(pieces.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('&'), p])));
    if (flags.get) {
      // -G: the data becomes the query string, appended to any already in the URL.
      const text = data.toString('utf8');
      if (text !== '') url.search = url.search.length > 1 ? `${url.search}&${text}` : `?${text}`;
    } else {
      body = data;
      // curl's default for -d; set -H 'Content-Type: ...' for anything else.
      if (!has('content-type')) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    }
  } else if (formWanted) {
    if (has('content-type'))
      throw new UsageError('-F/--form sets Content-Type itself (multipart/form-data with its boundary)', {
        hint: "leave out -H 'Content-Type: ...', or send a body of your own with -d",
      });
    const parts = [
      ...flags.form.map((f) => parseFormSpec(f, false)),
      ...flags.formString.map((f) => parseFormSpec(f, true)),
    ];
    form = await buildForm(parts, ctx.stdin);
  }
  // -C: a range of an encoded body cannot be decoded on its own, so (as curl, which asks for no
  // encoding unless --compressed) none is asked for, and the bytes are stored as sent.
  if (flags.decompress && flags.continueAt === undefined && !has('accept-encoding'))
    headers['Accept-Encoding'] = 'gzip, deflate, br';
  // As curl: any type accepted, and a versioned User-Agent (`-H 'User-Agent: x'` replaces it).
  if (!has('accept')) headers.Accept = '*/*';
  if (!has('user-agent')) headers['User-Agent'] = userAgent();
  const idempotencyAuto = flags.idempotencyKey === 'auto';
  if (flags.idempotencyKey !== undefined && !has('idempotency-key')) {
    headers['Idempotency-Key'] = idempotencyAuto ? globalThis.crypto.randomUUID() : flags.idempotencyKey;
  }
  const bodyChecksWanted = flags.expectBody.length + flags.expectJson.length > 0;
  // curl: `-o -` is stdout.
  const outputFile = flags.output === '-' ? undefined : flags.output;
  const outputTarget = outputFile !== undefined ? checkOutputPath(outputFile, bodyChecksWanted) : undefined;
  const resume = resumePlan(flags, method, outputTarget, has, loadMode);
  let bodyMode: BodyMode = 'buffer';
  if (outputTarget) bodyMode = 'file';
  // One call whose body nothing needs whole goes to stdout as it arrives. With retries the body of a
  // response that may be retried must not reach stdout, so it is kept until the verdict.
  else if (!loadMode && !flags.json && !bodyChecksWanted && flags.retries === 0) bodyMode = 'stream';
  else if (loadMode && !bodyChecksWanted) bodyMode = 'discard';
  const httpMethod = method;
  const retryOn = flags.retryOn !== undefined ? parseStatusSpec(flags.retryOn, '--retry-on') : undefined;
  const call: HttpCall = {
    // The display target is redacted once, here, so messages, breaker keys and results never carry
    // a token from the URL (unless --show-secrets).
    target: flags.showSecrets ? url.toString() : redactUrl(url.toString()),
    breakerKey: url.origin,
    describeBody: flags.json,
    operation: httpMethod,
    method: httpMethod,
    url,
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(form ? { form: form.form, formSummary: form.summary.parts } : {}),
    followRedirects: flags.location,
    maxRedirects: flags.maxRedirs,
    bodyMode,
    ...(outputFile !== undefined && outputTarget ? { outputFile, outputTarget } : {}),
    decompress: flags.decompress && !resume,
    ...(resume ? { resume } : {}),
    ...(flags.expectStatus !== undefined ? { expectStatus: parseStatusSpec(flags.expectStatus) } : {}),
    retryUnsafe: flags.retryUnsafe || has('idempotency-key'),
    retries: flags.retries,
    ...(retryOn ? { retryOn } : {}),
    maxBody: flags.maxBody,
    ...(cookies ? { cookies } : {}),
    ...(digest ? { digest } : {}),
    tlsInfo: {
      ...(flags.servername ? { servername: flags.servername } : {}),
      clientCert: flags.cert !== undefined,
    },
  };
  return { call, idempotencyAuto };
}

/**
 * Load mode sends many calls: templates ({{seq}}, {{uuid}}...) in the URL, headers and body are
 * expanded per call, and `--idempotency-key auto` gets a fresh key per call (one per logical request).
 */
function callMaker(
  base: HttpCall,
  idempotencyAuto: boolean,
  showSecrets: boolean,
): (seq: number) => HttpCall {
  const bodyText = base.body?.toString('utf8');
  // The URL parser percent-encodes braces; templates are looked for in that form.
  const urlText = base.url.href.replaceAll('%7B%7B', '{{').replaceAll('%7D%7D', '}}');
  const templated =
    hasTemplate(urlText) ||
    Object.values(base.headers).some(hasTemplate) ||
    (bodyText !== undefined && hasTemplate(bodyText));
  if (!templated && !idempotencyAuto) return () => base;
  return (seq) => {
    const url = new URL(expandTemplate(urlText, seq));
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(base.headers)) headers[k] = expandTemplate(v, seq);
    if (idempotencyAuto) {
      for (const k of Object.keys(headers))
        if (k.toLowerCase() === 'idempotency-key') headers[k] = globalThis.crypto.randomUUID();
    }
    return {
      ...base,
      target: showSecrets ? url.toString() : redactUrl(url.toString()),
      url,
      headers,
      ...(bodyText !== undefined ? { body: Buffer.from(expandTemplate(bodyText, seq)) } : {}),
    };
  };
}

/** The HTTP command's plan: everything parsed and checked before anything is sent. */
export interface HttpPlan extends CallSettings {
  /** The method as sent (a positional method upper-cased, -X as given). */
  method: string;
  url: string;
  values: HttpValues;
}

const KNOWN_METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);
const normalise = (m: string) => (KNOWN_METHODS.has(m.toLowerCase()) ? m.toUpperCase() : m);

/** RFC 9110 §9.1: a method is a token. */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkMethod(method: string, from: string): string {
  if (!METHOD_TOKEN.test(method))
    throw new UsageError(
      `invalid HTTP method ${from}'${method}': a method is a token (letters, digits, !#$%&'*+-.^_\`|~)`,
      {
        hint: 'e.g. get, post, PURGE, PROPFIND',
      },
    );
  if (method.toUpperCase() === 'CONNECT')
    throw new UsageError(`HTTP method ${from}'${method}' is not supported: CONNECT opens a tunnel`, {
      hint: 'set HTTPS_PROXY/HTTP_PROXY to go through a proxy',
    });
  return method;
}

/**
 * `http <method> <url>`, `http <url>` and `http -X METHOD <url>`: the first argument is the method
 * unless it is the only one. A lone method word (`http get`) is a missing URL, not a host named `get`.
 * Without a method: -X, else POST when a body is given (-d, --data-urlencode, --json-data, -F) and
 * no -G, else GET, as curl.
 */
export function methodAndUrl(
  first: string,
  second: string | undefined,
  values: Pick<HttpValues, 'request' | 'data' | 'jsonData' | 'dataUrlencode' | 'form' | 'formString' | 'get'>,
): { method: string; url: string } {
  // The usual methods are upper-cased wherever they come from (as fetch normalises them: a `head`
  // must be read as HEAD, without a body); any other token is sent exactly as given.
  const x = values.request !== undefined ? normalise(checkMethod(values.request, '-X ')) : undefined;
  if (second !== undefined) {
    const positional = checkMethod(first, '').toUpperCase();
    if (x !== undefined && x !== positional)
      throw new UsageError(`the method is given twice: '${first}' and -X '${x}'`, {
        hint: `use one: comms-cli http ${x} URL, or comms-cli http -X ${x} URL`,
      });
    return { method: x ?? positional, url: second };
  }
  if (isMethodWord(first))
    throw new UsageError("missing required argument 'url'", {
      hint: `comms-cli http ${first} http://127.0.0.1:8080/path`,
    });
  const body =
    values.data !== undefined ||
    values.jsonData !== undefined ||
    values.dataUrlencode.length + values.form.length + values.formString.length > 0;
  return { method: x ?? (body && !values.get ? 'POST' : 'GET'), url: first };
}

export function httpPlanFrom(first: string, second: string | undefined, values: HttpValues): HttpPlan {
  const { method, url } = methodAndUrl(first, second, values);
  const settings = callSettingsFrom(values);
  if (values.silent) settings.output = { ...settings.output, quiet: true };
  return { method, url, values, ...settings };
}

/**
 * Methods a client may pipeline: the idempotent ones (RFC 9112 §9.3.2: nothing after a
 * non-idempotent one), without HEAD (undici closes the connection after every HEAD) and TRACE.
 */
const PIPELINABLE: ReadonlySet<string> = new Set(
  [...IDEMPOTENT_METHODS].filter((m) => m !== 'HEAD' && m !== 'TRACE'),
);

/** --pipelining: load mode over HTTP/1.1 only; 1 (no pipelining) when not given. */
function pipeliningFor(flags: HttpValues, load: HttpPlan['load'], call: HttpCall): number {
  const n = flags.pipelining;
  if (n === undefined) return 1;
  if (load === undefined)
    throw new UsageError('--pipelining needs load mode (-n or --duration)', {
      hint: 'comms-cli http get URL -n 100000 -c 100 --pipelining 10',
    });
  if (!PIPELINABLE.has(call.method))
    throw new UsageError(
      `--pipelining pipelines GET, PUT, DELETE and OPTIONS requests, not ${call.method} (RFC 9112: nothing after a non-idempotent request)`,
    );
  if (call.form !== undefined)
    throw new UsageError(
      '--pipelining cannot send -F/--form bodies: they are streamed, one request at a time',
    );
  if (flags.http2)
    throw new UsageError(
      '--pipelining is for HTTP/1.1: HTTP/2 multiplexes requests on a connection by itself',
    );
  return n;
}

/**
 * Load mode's connections: --connections, else one per call in flight (-c), or with --pipelining
 * one per N of them (`-c 500 --pipelining 10` is autocannon's `-c 50 -p 10`). An open loop without
 * -c has no cap of its own: its connections are opened as needed.
 */
function connectionsFor(flags: HttpValues, load: HttpPlan['load'], pipelining: number): number | undefined {
  if (flags.connections !== undefined) return flags.connections;
  const inFlight = flags.concurrency ?? (load && load.rate === undefined ? load.concurrency : undefined);
  return inFlight === undefined ? undefined : Math.ceil(inFlight / pipelining);
}

/**
 * Load mode --http2: the streams each connection carries, -c spread over --connections (`-c 20
 * --connections 2`: 10 each). Without --connections there is a connection per call in flight (as
 * HTTP/1.1), so one stream each.
 */
function streamsFor(flags: HttpValues, load: HttpPlan['load'], connections: number | undefined): number {
  const inFlight = flags.concurrency ?? (load && load.rate === undefined ? load.concurrency : undefined);
  if (connections === undefined) return 1;
  // An open loop with --connections and no -c: no cap of its own but the server's (h2's common
  // SETTINGS_MAX_CONCURRENT_STREAMS, which undici also assumes until the server says otherwise).
  if (inFlight === undefined) return 100;
  return Math.max(1, Math.ceil(inFlight / connections));
}

export async function runHttp(plan: HttpPlan, ctx: CommandContext): Promise<ExitCode> {
  const { values: flags, resilience } = plan;
  const { Output } = await import('../../../output/output.js');
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const loadMode = plan.load !== undefined;
  const built = await buildCall(plan.method, plan.url, flags, ctx, loadMode);
  const { idempotencyAuto } = built;
  const withSink: HttpCall =
    built.call.bodyMode === 'stream'
      ? { ...built.call, sink: stdoutSink(output, flags.include) }
      : built.call;
  // -v -L: every hop a person would otherwise not see (status and Location), as curl -v shows it.
  const call: HttpCall =
    output.options.verbose && !output.options.quiet && !loadMode && withSink.followRedirects
      ? { ...withSink, onRedirect: (hop) => printHop(output, hop) }
      : withSink;
  if (call.outputFile !== undefined && loadMode)
    throw new UsageError('-o/--output cannot be used in load mode');
  const checks: ResultCheck<HttpReply>[] = await bodyChecks(flags);
  if (flags.http2 && flags['http1.1']) throw new UsageError('--http2 and --http1.1 cannot both be given');
  // As curl: h2 is offered over TLS by default. Load mode keeps HTTP/1.1 unless --http2 asks (its
  // -c/--connections mean connections, and its figures stay comparable with earlier runs).
  const http2 = flags.http2 || (!loadMode && !flags['http1.1']);
  if (call.url.protocol === 'http:' && flags.http2) {
    output.verbose('note: --http2 is negotiated over TLS (ALPN); a plain http:// URL uses HTTP/1.1');
  }
  if (flags.resolve.length + flags.connectTo.length > 0 && PROXY_VARS.some((k) => process.env[k]))
    output.verbose('note: --resolve/--connect-to are not applied to requests sent through HTTP(S)_PROXY');
  const pipelining = pipeliningFor(flags, plan.load, call);
  const connections = connectionsFor(flags, plan.load, pipelining);
  const transport = new HttpTransport({
    tls: tlsFrom(flags),
    http2,
    ...(loadMode && connections ? { connections } : {}),
    ...(pipelining > 1 ? { pipelining } : {}),
    ...(loadMode && flags.http2 ? { streamsPerConnection: streamsFor(flags, plan.load, connections) } : {}),
    measurePhases: !loadMode,
    ...(flags.resolve.length + flags.connectTo.length > 0
      ? { route: (host: string, port: number) => routeFor(flags.connectTo, flags.resolve, host, port) }
      : {}),
    connectTimeoutMs:
      resilience.maxTimeMs !== undefined && resilience.timeoutMs === 0
        ? resilience.maxTimeMs
        : resilience.maxTimeMs !== undefined
          ? Math.min(resilience.timeoutMs, resilience.maxTimeMs)
          : resilience.timeoutMs,
  });
  if (flags.writeOut !== undefined && loadMode)
    throw new UsageError('-w/--write-out cannot be used in load mode');
  const writeOut =
    flags.writeOut === undefined
      ? undefined
      : parseWriteOut(
          flags.writeOut.startsWith('@')
            ? readFileArg(flags.writeOut.slice(1), '-w/--write-out').toString('utf8')
            : flags.writeOut,
        );
  if (output.options.verbose && !output.options.quiet && !loadMode) printRequest(output, call);
  const exit = await runCallCommand({
    transport,
    call,
    ...(loadMode ? { makeCall: callMaker(call, idempotencyAuto, flags.showSecrets) } : {}),
    resilience,
    output,
    load: plan.load,
    signal: ctx.signal,
    checks,
    replyBytes: (reply) => reply.bytes,
    finalize: (outcome) => commitOutputFile(call, outcome, output),
    renderHuman: (outcome) => renderHuman(output, outcome, flags.include),
    ...(writeOut
      ? {
          afterOutput: async (outcome: CallOutcome<HttpReply>) => {
            const values = writeOutValues(outcome.result, outcome.reply, call.method, call.url);
            // curl writes -w to stdout; with --json stdout is NDJSON only, so it goes to stderr.
            const text = renderWriteOut(writeOut, values, output.options.json ? 'stderr' : 'stdout');
            if (text.stdout) await output.data(text.stdout);
            if (text.stderr) output.err.write(text.stderr);
          },
        }
      : {}),
  });
  if (
    flags.cookieJar !== undefined &&
    call.cookies &&
    !(await writeCookieJar(flags.cookieJar, call.cookies, output))
  )
    return worstExitCode([exit, ExitCode.local]);
  return exit;
}

/**
 * -o: the temp file becomes the output only when the call succeeded; otherwise it is removed. With -C
 * the body was appended to the file itself, and a failed call keeps what it appended, as curl does:
 * those bytes were written only after the 206's Content-Range matched the file's size, so the file
 * is still the server's first N bytes, and the next `-C -` continues from there (resuming a large
 * download over a flaky link is what -C is for). A file the call created and left empty is removed.
 */
async function commitOutputFile(
  call: HttpCall,
  outcome: CallOutcome<HttpReply>,
  output: Output,
): Promise<void> {
  if (call.resume?.append && call.outputTarget) {
    if (outcome.result.ok) return;
    delete outcome.result.output;
    const { path: file } = call.outputTarget;
    const before = call.resume.fileSize;
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new LocalError(`could not read -o file '${call.outputFile}': ${fileErrorReason(err)}`);
    }
    const kept = size - (before ?? 0);
    if (kept > 0) {
      output.info(
        `kept the ${kept.toLocaleString('en-US')} bytes received in '${call.outputFile}' (now ${size.toLocaleString('en-US')}): run again with -C - to continue`,
      );
      return;
    }
    if (before === undefined) await unlink(file).catch(() => undefined);
    return;
  }
  const temp = outcome.reply?.tempFile;
  if (!temp || !call.outputTarget) return;
  if (outcome.result.ok) await commitTemp(temp, call.outputTarget);
  else {
    await discardTemp(temp);
    delete outcome.result.output;
  }
}

function printRequest(out: Output, call: HttpCall): void {
  const headers = withJarCookies({ ...call.headers }, call.cookies, call.url);
  const safeHeaders = out.options.showSecrets ? headers : redactHeaders(headers);
  out.verbose(
    out.c.cyan(
      `> ${call.method} ${out.options.showSecrets ? call.url.toString() : redactUrl(call.url.toString())}`,
    ),
  );
  for (const [k, v] of Object.entries(safeHeaders)) out.verbose(out.c.cyan(`> ${k}: ${v}`));
  // -C: the first attempt's Range (a retry asks from where the file has grown to).
  if (call.resume && call.resume.offset > 0) out.verbose(out.c.cyan(`> Range: bytes=${call.resume.offset}-`));
  if (call.body) out.verbose(out.c.cyan(`> (${call.body.length} bytes of body)`));
  for (const part of call.formSummary ?? []) out.verbose(out.c.cyan(`> (form part ${escapeInline(part)})`));
}

/**
 * The response head on stderr (-i / -v), as curl -i shows it. Redaction is for -v and --json (the
 * docs say so): -i alone shows the headers as sent, Set-Cookie included, as curl -i does. Peer text
 * (reason phrase, header values) is escaped before it is coloured.
 */
function printResponseHead(out: Output, reply: HttpReply): void {
  const redact = out.options.verbose && !out.options.showSecrets;
  const headers = redact ? redactHeaders(reply.headers) : reply.headers;
  out.line(
    out.c.magenta(`< ${reply.httpVersion} ${reply.status} ${escapeInline(reply.statusText)}`.trimEnd()),
  );
  for (const [k, v] of Object.entries(headers)) {
    for (const one of Array.isArray(v) ? v : [v])
      out.line(out.c.magenta(`< ${escapeInline(k)}: ${escapeInline(String(one))}`));
  }
}

/** One redirect hop with -v -L: its status and Location, then the request that follows it. */
function printHop(out: Output, hop: RedirectHop): void {
  out.verbose(out.c.magenta(`< ${hop.httpVersion} ${hop.status} ${escapeInline(hop.statusText)}`.trimEnd()));
  out.verbose(out.c.magenta(`< location: ${escapeInline(hop.location)}`));
  const to = out.options.showSecrets ? hop.to : redactUrl(hop.to);
  out.verbose(out.c.cyan(`> ${hop.method} ${to}`));
}

/**
 * The body straight to stdout as it arrives. A JSON body on a terminal is kept whole instead, to be
 * pretty-printed; piped output is always the exact bytes.
 */
function stdoutSink(out: Output, include: boolean): BodySink {
  let last: number | undefined;
  return {
    head(reply) {
      const type = String(reply.headers['content-type'] ?? '');
      if (out.stdoutIsTTY && /[/+]json\b/i.test(type)) return false;
      if ((include || out.options.verbose) && !out.options.quiet) printResponseHead(out, reply);
      return true;
    },
    async chunk(data) {
      if (data.length === 0) return;
      last = data.at(-1);
      await out.data(data);
    },
    // A terminal gets a final newline when the body did not end with one.
    async end() {
      if (out.stdoutIsTTY && last !== undefined && last !== 0x0a) await out.data('\n');
    },
  };
}

async function renderHuman(out: Output, outcome: CallOutcome<HttpReply>, include: boolean): Promise<void> {
  const { result, reply } = outcome;
  if (reply && !reply.streamed && (include || out.options.verbose) && !out.options.quiet)
    printResponseHead(out, reply);
  if (reply?.body && reply.body.length > 0) {
    const type = String(reply.headers['content-type'] ?? '');
    if (out.stdoutIsTTY && /[/+]json\b/i.test(type)) {
      // Pretty and coloured for a person; raw bytes when piped (so jq and files get exactly what was sent).
      try {
        await out.data(`${colourJson(out, parseExact(reply.body.toString('utf8')))}\n`);
      } catch {
        await out.data(reply.body);
      }
    } else {
      await out.data(reply.body);
      if (out.stdoutIsTTY && reply.body.at(-1) !== 0x0a) await out.data('\n');
    }
  }
  const status = reply
    ? `${reply.httpVersion} ${reply.status} ${escapeInline(reply.statusText)}`.trim() +
      (reply.rangeDone ? ' (already complete: nothing to resume)' : '')
    : result.error?.kind === 'connect' && result.timing?.firstByte !== undefined
      ? // Connected and answering, then cut off (exit 3 all the same, as curl's 56 is a network error).
        'connection lost mid-response'
      : (NO_REPLY[result.error?.kind ?? ''] ?? 'failed');
  const size = reply ? out.c.dim(` · ${formatBytes(reply.bytes)}`) : '';
  reportResult(out, result, status);
  if (size && out.options.verbose)
    out.verbose(`body${size}${reply?.tempFile ? ` → ${String(result.output)}` : ''}`);
}

/** The status line when no response came back. */
const NO_REPLY: Record<string, string> = {
  connect: 'no connection',
  timeout: 'timed out',
  breaker: 'short-circuited (breaker open)',
  interrupted: 'interrupted',
};

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function colourJson(out: Output, value: unknown): string {
  const c = out.cOut;
  const text = stringifyExact(value, 2);
  if (c.level === 0) return text;
  return text.replace(
    /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g,
    (
      m,
      str: string | undefined,
      colon: string | undefined,
      lit: string | undefined,
      num: string | undefined,
    ) => {
      if (str !== undefined) return colon ? `${c.blue(str)}${colon}` : c.green(str);
      if (lit !== undefined) return c.magenta(lit);
      if (num !== undefined) return c.yellow(num);
      return m;
    },
  );
}
