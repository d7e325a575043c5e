import type { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { buildConnector as BuildConnectorType, Dispatcher } from 'undici';
import apiRequest from 'undici/lib/api/api-request.js';
import buildConnector from 'undici/lib/core/connect.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import { performance } from '../../core/clock.js';
import type { TimingRecorder } from '../../core/timing.js';
import type { AttemptContext, Outcome, ResultFields, Transport, Verdict } from '../../core/transport.js';
import { ResponseError } from '../../errors/comms-error.js';
import type { SseCall, SseResponse, SseTransportOptions } from './call.js';
import { isEventStream, RETRYABLE_STATUSES } from './classify.js';
import { sseError } from './errors.js';

const MAX_BODY = 4096;
type RequestFn = (this: Dispatcher, opts: Dispatcher.RequestOptions) => Promise<Dispatcher.ResponseData>;

/**
 * The SSE adapter over undici (the same modules as the HTTP adapter, no fetch): `attempt` is one GET
 * up to the response headers. The body stream is handed to the session unread; the timing of a new
 * socket (dns, connect, tls) and of the headers (firstByte) is recorded on the attempt.
 */
export class SseTransport implements Transport<SseCall, SseResponse> {
  readonly kind = 'sse' as const;
  readonly #dispatcher: Dispatcher;
  #recorder: TimingRecorder | undefined;
  readonly #streams = new Set<Readable>();

  constructor(options: SseTransportOptions) {
    const tls = {
      ...(options.tls.ca ? { ca: options.tls.ca } : {}),
      ...(options.tls.cert ? { cert: options.tls.cert } : {}),
      ...(options.tls.key ? { key: options.tls.key } : {}),
      ...(options.tls.servername ? { servername: options.tls.servername } : {}),
      rejectUnauthorized: !options.tls.insecure,
    };
    const connector = buildConnector(tls);
    const connect: BuildConnectorType.connector = (opts, callback) => {
      const rec = this.#recorder;
      const start = performance.now();
      const socket = connector(opts, callback) as unknown as TLSSocket;
      if (rec && socket && typeof socket.once === 'function') {
        let tcpStart = start;
        socket.once('lookup', () => {
          tcpStart = performance.now();
          rec.set('dns', tcpStart - start);
        });
        socket.once('connect', () => {
          const at = performance.now();
          rec.set('connect', at - tcpStart);
          socket.once('secureConnect', () => rec.set('tls', performance.now() - at));
        });
      }
    };
    // An event stream lives long: no body timeout (the session's idle --timeout watches it).
    this.#dispatcher = new Agent({ connect, bodyTimeout: 0, headersTimeout: 0, pipelining: 1 });
  }

  async attempt(call: SseCall, ctx: AttemptContext): Promise<SseResponse> {
    this.#recorder = ctx.timing;
    const headers: Record<string, string> = {
      Accept: 'text/event-stream',
      'Cache-Control': 'no-cache',
      ...call.headers,
      ...(call.lastEventId !== undefined ? { 'Last-Event-ID': call.lastEventId } : {}),
    };
    let res: Dispatcher.ResponseData;
    try {
      res = await (apiRequest as RequestFn).call(this.#dispatcher, {
        origin: call.url.origin,
        path: `${call.url.pathname}${call.url.search}`,
        method: 'GET',
        headers,
        signal: ctx.signal,
      });
    } catch (err) {
      throw sseError(err, call.target, ctx.signal);
    } finally {
      this.#recorder = undefined;
    }
    ctx.timing.markSinceStart('firstByte');
    const contentType = headerText(res.headers['content-type']) ?? '';
    const base = {
      status: res.statusCode,
      statusText: res.statusText ?? '',
      headers: res.headers as Record<string, string | string[]>,
      contentType,
      startedAt: ctx.timing.start,
    };
    const body = res.body as unknown as Readable;
    if (res.statusCode === 200 && isEventStream(contentType)) {
      this.#streams.add(body);
      body.once('close', () => this.#streams.delete(body));
      return { ...base, stream: body };
    }
    // Not a stream: keep the start of the body for the message, drop the rest.
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body) {
        if (size < MAX_BODY) chunks.push(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
    } catch {
      // a body cut short says nothing more than its status
    }
    const text = Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8');
    return { ...base, ...(text ? { body: text } : {}) };
  }

  classify(outcome: Outcome<SseResponse>, call: SseCall): Verdict {
    if (outcome.error) {
      const transient = outcome.error.kind === 'connect' || outcome.error.kind === 'timeout';
      return { ok: false, retryable: transient, peerFault: transient, error: outcome.error };
    }
    const { reply } = outcome;
    const status = reply.status;
    // 204: the server asks the client to stop (EventSource spec): a success with no events.
    if (reply.stream || status === 204) return { ok: true, retryable: false, peerFault: false, status };
    if (status === 200)
      return {
        ok: false,
        retryable: false,
        peerFault: false,
        status,
        error: new ResponseError(
          `expected an event stream (text/event-stream) from ${call.target}, got ${reply.contentType || 'no Content-Type'}`,
          { code: 'COMMS_ERR_SSE_NOT_A_STREAM' },
        ),
      };
    const retryAfter = headerText(reply.headers['retry-after']);
    const retryAfterMs =
      retryAfter && /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) * 1000 : undefined;
    return {
      ok: false,
      retryable: RETRYABLE_STATUSES.has(status),
      peerFault: status >= 500 || status === 429,
      status,
      error: new ResponseError(
        `HTTP ${status}${reply.statusText ? ` ${reply.statusText}` : ''} from GET ${call.target}`,
        { code: 'COMMS_ERR_HTTP_STATUS' },
      ),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }

  describe(reply: SseResponse): ResultFields {
    return {
      status: reply.status,
      statusText: reply.statusText,
      headers: reply.headers,
      ...(reply.body !== undefined ? { body: reply.body } : {}),
    };
  }

  async close(): Promise<void> {
    for (const s of this.#streams) s.destroy();
    this.#streams.clear();
    await this.#dispatcher.destroy().catch(() => {});
  }
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
