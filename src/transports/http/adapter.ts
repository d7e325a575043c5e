import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TLSSocket } from 'node:tls';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Agent as AgentType, buildConnector as BuildConnectorType, Dispatcher } from 'undici';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { errorCode } from '../../errors/classify.js';
import { type CommsError, ExpectationError, ResponseError } from '../../errors/comms-error.js';
import { redactUrl } from '../../output/redact.js';
import type { HttpCall, HttpReply } from './call.js';
import { IDEMPOTENT_METHODS, parseRetryAfter, REDIRECT_STATUSES, RETRYABLE_STATUSES } from './classify.js';
import { protocolOf, watchSocket, withRecorder } from './timing.js';

/*
 * undici is loaded by deep require: its index pulls in fetch, WebSocket, caches and mocks (~90 ms of
 * startup on these machines), and a CLI run pays that on every invocation. Agent, the connector and the
 * request API are all comms-cli uses. Types still come from the package's public declarations.
 */
const require = createRequire(import.meta.url);
type AgentCtor = typeof AgentType;
type RequestFn = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

export interface HttpTransportOptions {
  tls: {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    insecure: boolean;
    servername?: string;
  };
  http2: boolean;
  /** Pool size per origin (load mode --connections / -c). */
  connections?: number;
}

const PROXY_ENV = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy'];

type Stage = NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream;

/** Failures that prove the request never reached the server, so even a POST may be retried. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The HTTP adapter over undici: one pooled dispatcher per run, one `attempt` per try, redirects inside. */
export class HttpTransport implements Transport<HttpCall, HttpReply> {
  readonly kind = 'http' as const;
  readonly #dispatcher: Dispatcher;
  readonly #request: RequestFn;
  /** The temp file of the last attempt of each -o call, so a retry can remove the one before. */
  readonly #tempFiles = new WeakMap<HttpCall, string>();

  constructor(options: HttpTransportOptions) {
    const Agent = require('undici/lib/dispatcher/agent.js') as AgentCtor;
    const buildConnector = require('undici/lib/core/connect.js') as typeof BuildConnectorType;
    this.#request = require('undici/lib/api/api-request.js') as RequestFn;
    const tls = {
      ...(options.tls.ca ? { ca: options.tls.ca } : {}),
      ...(options.tls.cert ? { cert: options.tls.cert } : {}),
      ...(options.tls.key ? { key: options.tls.key } : {}),
      ...(options.tls.servername ? { servername: options.tls.servername } : {}),
      rejectUnauthorized: !options.tls.insecure,
    };
    const common = {
      allowH2: options.http2,
      ...(options.connections ? { connections: options.connections } : {}),
      pipelining: 1,
      keepAliveTimeout: 4_000,
    };
    if (PROXY_ENV.some((k) => process.env[k])) {
      // HTTP_PROXY / HTTPS_PROXY / NO_PROXY, as curl reads them; the proxy path has no socket timing.
      // The proxy agent needs undici's API methods on Dispatcher.prototype (it calls client.connect()),
      // which only the package index installs: pay for the full load only when a proxy is configured.
      const { EnvHttpProxyAgent } = require('undici') as typeof import('undici');
      this.#dispatcher = new EnvHttpProxyAgent({ ...common, connect: tls, requestTls: tls });
    } else {
      const connector = buildConnector({ ...tls, allowH2: options.http2 });
      const connect: BuildConnectorType.connector = (opts, callback) => {
        const socket = connector(opts, callback) as unknown;
        if (socket && typeof socket === 'object' && 'once' in socket) watchSocket(socket as TLSSocket);
      };
      this.#dispatcher = new Agent({ ...common, connect });
    }
  }

  async attempt(call: HttpCall, ctx: AttemptContext): Promise<HttpReply> {
    let url = call.url;
    let method: string = call.method;
    let body = call.body;
    let headers: Record<string, string> = { ...call.headers };
    let redirects = 0;
    for (;;) {
      const res = await withRecorder(ctx.timing, () =>
        this.#request.call(this.#dispatcher, {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: method as Dispatcher.HttpMethod,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: ctx.signal,
        }),
      );
      const location = headerValue(res.headers.location);
      if (call.followRedirects && REDIRECT_STATUSES.has(res.statusCode) && location) {
        await res.body.dump();
        redirects += 1;
        if (redirects > call.maxRedirects) {
          throw new ResponseError(
            `too many redirects: more than ${call.maxRedirects} (last to ${location})`,
            {
              code: 'COMMS_ERR_TOO_MANY_REDIRECTS',
              hint: 'raise --max-redirs, or check for a redirect loop',
            },
          );
        }
        const next = new URL(location, url);
        if (
          res.statusCode === 303 ||
          ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')
        ) {
          method = 'GET';
          body = undefined;
          headers = withoutHeaders(headers, ['content-type', 'content-length']);
        }
        // Credentials do not follow a redirect to another origin (curl does the same).
        if (next.origin !== url.origin)
          headers = withoutHeaders(headers, ['authorization', 'cookie', 'proxy-authorization']);
        url = next;
        continue;
      }
      const reply: HttpReply = {
        status: res.statusCode,
        statusText: res.statusText || STATUS_CODES[res.statusCode] || '',
        httpVersion: protocolOf(ctx.timing) === 'h2' ? 'HTTP/2' : 'HTTP/1.1',
        headers: res.headers as Record<string, string | string[]>,
        bytes: 0,
        url: url.toString(),
        redirects,
      };
      await this.#readBody(call, res, reply, ctx);
      return reply;
    }
  }

  async #readBody(
    call: HttpCall,
    res: Dispatcher.ResponseData,
    reply: HttpReply,
    ctx: AttemptContext,
  ): Promise<void> {
    const source = res.body as unknown as Readable;
    if (call.bodyMode === 'discard') {
      for await (const chunk of source) reply.bytes += (chunk as Buffer).length;
      return;
    }
    const encoding = headerValue(res.headers['content-encoding'])?.toLowerCase().trim();
    const decoder =
      call.decompress && call.method !== 'HEAD'
        ? encoding === 'gzip' || encoding === 'x-gzip'
          ? createGunzip()
          : encoding === 'deflate'
            ? createInflate()
            : encoding === 'br'
              ? createBrotliDecompress()
              : undefined
        : undefined;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        reply.bytes += chunk.length;
        cb(null, chunk);
      },
    });
    const stages: Stage[] = decoder ? [source, decoder, counter] : [source, counter];
    if (call.bodyMode === 'file' && call.outputFile) {
      // Stream to a temp file beside the target; it becomes the file only when the call succeeds.
      // A previous attempt's temp file (a retried 503, say) is removed first.
      const previous = this.#tempFiles.get(call);
      if (previous) await unlink(previous).catch(() => {});
      const temp = join(
        dirname(call.outputFile),
        `.${basename(call.outputFile)}.${process.pid}.${randomBytes(3).toString('hex')}.part`,
      );
      this.#tempFiles.set(call, temp);
      try {
        await pipeline([...stages, createWriteStream(temp)], { signal: ctx.signal });
      } catch (err) {
        await unlink(temp).catch(() => {});
        this.#tempFiles.delete(call);
        throw err;
      }
      reply.tempFile = temp;
      return;
    }
    const chunks: Buffer[] = [];
    const collect = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    await pipeline([...stages, collect], { signal: ctx.signal });
    reply.body = Buffer.concat(chunks);
  }

  classify(outcome: Outcome<HttpReply>, call: HttpCall): Verdict {
    const retryAllowed = call.retryUnsafe || IDEMPOTENT_METHODS.has(call.method);
    if (outcome.error) {
      const { error } = outcome;
      const transient = error.kind === 'connect' || error.kind === 'timeout';
      // Nothing reached the server when the connection was never made: safe to retry any method.
      const notSent = NOT_SENT_CODES.has(errorCode(error.cause) ?? '');
      return { ok: false, retryable: transient && (retryAllowed || notSent), peerFault: transient, error };
    }
    const { reply } = outcome;
    const status = reply.status;
    const ok = call.expectStatus ? call.expectStatus.test(status) : status < 400;
    if (ok) return { ok: true, retryable: false, peerFault: false, status };
    const text = `HTTP ${status}${reply.statusText ? ` ${reply.statusText}` : ''}`;
    const error: CommsError = call.expectStatus
      ? new ExpectationError(
          `expected status ${call.expectStatus.text}, got ${status}${reply.statusText ? ` ${reply.statusText}` : ''}`,
        )
      : new ResponseError(
          `${text} from ${call.method} ${reply.redirects > 0 ? redactUrl(reply.url) : call.target}`,
          {
            code: 'COMMS_ERR_HTTP_STATUS',
            ...(RETRYABLE_STATUSES.has(status) && !retryAllowed
              ? { hint: `${call.method} is not retried unless --retry-unsafe or --idempotency-key is given` }
              : {}),
          },
        );
    const retryAfterMs = parseRetryAfter(reply.headers['retry-after']);
    return {
      ok: false,
      retryable: RETRYABLE_STATUSES.has(status) && retryAllowed,
      peerFault: status >= 500 || status === 429,
      status,
      error,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }

  describe(reply: HttpReply, call: HttpCall): ResultFields {
    const fields: ResultFields = {
      status: reply.status,
      statusText: reply.statusText,
      httpVersion: reply.httpVersion,
      headers: reply.headers,
      bytes: reply.bytes,
    };
    if (reply.redirects > 0) {
      fields.redirects = reply.redirects;
      fields.url = reply.url;
    }
    if (call.bodyMode === 'file') fields.output = call.outputFile;
    else if (call.describeBody && reply.body && reply.body.length > 0)
      Object.assign(fields, bodyForJson(reply.body, headerValue(reply.headers['content-type'])));
    return fields;
  }

  async close(): Promise<void> {
    // destroy, not close: a keep-alive pool must not hold the process open after the last call.
    await this.#dispatcher.destroy().catch(() => {});
  }
}

/** The body in --json: parsed JSON when it is JSON, text when it is UTF-8, else base64. */
export function bodyForJson(
  body: Buffer,
  contentType: string | undefined,
): { body: unknown; bodyEncoding?: 'base64' } {
  const text = body.toString('utf8');
  if (contentType && /[/+]json\b/i.test(contentType)) {
    try {
      return { body: JSON.parse(text) };
    } catch {
      // not valid JSON despite the header: fall through to text
    }
  }
  if (Buffer.from(text, 'utf8').equals(body)) return { body: text };
  return { body: body.toString('base64'), bodyEncoding: 'base64' };
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function withoutHeaders(headers: Record<string, string>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!names.includes(k.toLowerCase())) out[k] = v;
  return out;
}
