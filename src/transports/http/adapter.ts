import { createWriteStream } from 'node:fs';
import { open as openFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { type Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createSecureContext, type TLSSocket } from 'node:tls';
import type { buildConnector as BuildConnectorType, Dispatcher, FormData } from 'undici';
import apiRequest from 'undici/lib/api/api-request.js';
import buildConnector from 'undici/lib/core/connect.js';
import undiciUtil from 'undici/lib/core/util.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import connectH1 from 'undici/lib/dispatcher/client-h1.js';
import { performance } from '../../core/clock.js';
import { formatMs } from '../../core/duration.js';
import { discardTemp, openTemp, prepareFileWrites } from '../../core/safe-file.js';
import { TimingRecorder } from '../../core/timing.js';
import type {
  AttemptContext,
  AttemptSink,
  Outcome,
  ResultFields,
  Transport,
  Verdict,
} from '../../core/transport.js';
import { errorCode, toCommsError } from '../../errors/classify.js';
import {
  type CommsError,
  ConnectError,
  ExpectationError,
  LocalError,
  ResponseError,
  TimeoutError,
  UsageError,
} from '../../errors/comms-error.js';
import { redactUrl } from '../../output/redact.js';
import type { BodySink, HttpCall, HttpReply } from './call.js';
import { IDEMPOTENT_METHODS, parseRetryAfter, REDIRECT_STATUSES, RETRYABLE_STATUSES } from './classify.js';
import { lookupLoopbackNames, prepareResolverFor } from './connect-to.js';
import { withJarCookies } from './cookies.js';
import { digestAuthorization, parseDigestChallenge } from './digest.js';
import { DirectPool, type Lease, type PooledHandler } from './direct-pool.js';
import { exactJsonBody } from './json-body.js';
import {
  explainTlsError,
  holdEndWhileParserPaused,
  letGracefulGoawayFinish,
  observeTls,
  skipInterimResponses,
  type TlsObservation,
} from './peer-quirks.js';
import { protocolOf, watchSocket, withRecorder } from './timing.js';
import { startWarmUpH2Peer, startWarmUpPeer, type WarmUpPeer } from './warm-up-peer.js';
import { WARM_UP_CERT, WARM_UP_KEY } from './warm-up-tls.js';

/*
 * undici is imported module by module (Agent, the connector, the request API): its index also loads
 * fetch, WebSocket, caches and mocks (~90 ms of start-up on these machines), which a CLI run would pay
 * on every invocation. The build bundles these modules (scripts/bundle.mjs). Types are undici's own,
 * re-declared for these paths in src/types/undici-internals.d.ts.
 */
const requireCjs = createRequire(import.meta.url);
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
  /**
   * Load mode --pipelining: requests in flight on one HTTP/1.1 connection (default 1: the next is
   * written when the last answer ended). undici pipelines idempotent requests only.
   */
  pipelining?: number;
  /**
   * Load mode --http2: most streams one connection carries (undici's `pipelining`, which caps h2
   * streams as well as h1 requests; default 1). `-c 20 --connections 2` is 10 a connection: with 1,
   * each h2 connection would carry one call at a time and the run would measure queueing.
   */
  streamsPerConnection?: number;
  /**
   * Measure dns/connect/tls/first byte per attempt (default true). Load mode turns it off: it needs
   * only each call's total, and with no diagnostics_channel subscriber undici publishes nothing.
   */
  measurePhases?: boolean;
  /**
   * Bound on TCP connect + TLS handshake (the per-attempt --timeout; 0 = none). undici's own default
   * is a fixed 10 s, which would both outlast a short --timeout and cut off a long one.
   */
  connectTimeoutMs?: number;
  /** --resolve / --connect-to: where a connection for a URL's host and port really goes (connect-to.ts). */
  route?: (hostname: string, port: number) => { hostname: string; port: number } | undefined;
}

/**
 * Pay undici's first-use costs before any clock starts, so they never land inside a measured phase:
 * the HTTP/1 parser (llhttp, WebAssembly compiled when the first socket connects: ~10-30 ms) and the
 * TLS context with the root store (loaded on the first handshake). curl's parser and TLS library are
 * native and ready, so without this our firstByte on a loopback server read 10x curl's (issue 10).
 * connectH1 compiles the parser before it looks at the socket; a socket already `errored` makes it
 * stop right there, which is all we want from it.
 */
let parserReady = false;
/** The request path has been exercised once in this process (see HttpTransport.warmUp). */
let requestPathWarm = false;
function warmHttp1Parser(): void {
  if (parserReady) return;
  parserReady = true;
  try {
    connectH1({}, { errored: new Error('warm-up only') });
  } catch {
    // expected: the dummy socket is errored
  }
}

/** The warm-up's stand-in for the stdout sink: the same streaming path, nothing printed. */
const NULL_SINK: BodySink = {
  head: () => true,
  chunk: async () => {},
  end: async () => {},
};

const PROXY_ENV = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy'];

/**
 * A decoder for the response's Content-Encoding. node:zlib is required only when a body is encoded:
 * a built-in module costs start-up time on every one-shot call that does not need it.
 */
function decoderFor(encoding: string | undefined): NodeJS.ReadWriteStream | undefined {
  if (encoding !== 'gzip' && encoding !== 'x-gzip' && encoding !== 'deflate' && encoding !== 'br')
    return undefined;
  const zlib = requireCjs('node:zlib') as typeof import('node:zlib');
  if (encoding === 'br') return zlib.createBrotliDecompress();
  return encoding === 'deflate' ? zlib.createInflate() : zlib.createGunzip();
}

type Stage = NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream;

/** undici's default headersTimeout and bodyTimeout. */
const UNDICI_DEFAULT_TIMEOUT_MS = 300_000;

/** Failures that prove the request never reached the server, so even a POST may be retried. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** A call's first hop as dispatched (see HttpTransport.#firstHop). */
interface FirstHop {
  readonly call: HttpCall;
  readonly opts: Dispatcher.DispatchOptions;
  /** Load mode's own connections for it, asked on its first attemptInto; null: the Agent. */
  direct: DirectPool | null | undefined;
}

/** The HTTP adapter over undici: one pooled dispatcher per run, one `attempt` per try, redirects inside. */
export class HttpTransport implements Transport<HttpCall, HttpReply> {
  readonly kind = 'http' as const;
  readonly #dispatcher: Dispatcher;
  readonly #request: RequestFn;
  readonly #measurePhases: boolean;
  readonly #connectTimeoutMs: number;
  /** The temp file of the last attempt of each -o call, so a retry can remove the one before. */
  readonly #tempFiles = new WeakMap<HttpCall, string>();
  /** Load mode: each call's first-hop dispatch options (see #firstHop). */
  readonly #firstHops = new WeakMap<HttpCall, FirstHop>();
  #lastHop: FirstHop | undefined;
  /** What the last TLS handshake saw (the certificate's dates, a late alert), to explain a failure. */
  readonly #tlsSeen: TlsObservation = {};
  readonly #http2: boolean;
  /** The connector with our socket hooks (absent behind a proxy). */
  #connect: BuildConnectorType.connector | undefined;
  /** Builds the TLS connector (its secure context) once; absent behind a proxy. */
  #prepareTls: (() => BuildConnectorType.connector) | undefined;
  /** The run's Agent options; the warm-up's Agent gets the same, so its Pool and Client are built alike. */
  readonly #agentOptions: import('undici').Agent.Options;
  /** Load mode (--connections set), HTTP/1.1 without a proxy: its connections, one Client each. */
  readonly #directSize: number | undefined;
  #direct: DirectPool | undefined;
  /**
   * --pipelining above 1: what every request's dispatch options add. Non-blocking, or undici holds
   * the requests behind each one until its answer's headers arrive (its default for all but HEAD);
   * idempotent, or it pipelines nothing behind a PUT, DELETE or OPTIONS (the command allows only those and GET).
   */
  readonly #pipelineOpts: { blocking?: false; idempotent?: true };

  constructor(options: HttpTransportOptions) {
    this.#request = apiRequest;
    this.#measurePhases = options.measurePhases !== false;
    const tls = {
      ...(options.tls.ca ? { ca: options.tls.ca } : {}),
      ...(options.tls.cert ? { cert: options.tls.cert } : {}),
      ...(options.tls.key ? { key: options.tls.key } : {}),
      ...(options.tls.servername ? { servername: options.tls.servername } : {}),
      rejectUnauthorized: !options.tls.insecure,
    };
    warmHttp1Parser();
    this.#http2 = options.http2;
    const streams = options.http2 ? (options.streamsPerConnection ?? 1) : 1;
    // undici's h2 client gives a request it takes for non-idempotent (POST, PATCH) a connection of
    // its own (it waits for the streams in flight): a load run multiplexes them as it does GETs.
    this.#pipelineOpts =
      (options.pipelining ?? 1) > 1
        ? { blocking: false, idempotent: true }
        : streams > 1
          ? { idempotent: true }
          : {};
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    // Load mode, every attempt bounded by our own deadline well inside undici's 300 s header/body
    // timeouts: those never fire first, yet undici arms a timer for them on every request (a new
    // one per request, as the connection's keep-alive timer sits between requests). Off then.
    const deadlineBound =
      !this.#measurePhases &&
      this.#connectTimeoutMs > 0 &&
      this.#connectTimeoutMs <= UNDICI_DEFAULT_TIMEOUT_MS;
    const common = {
      allowH2: options.http2,
      ...(options.connections ? { connections: options.connections } : {}),
      pipelining: Math.max(options.pipelining ?? 1, streams),
      keepAliveTimeout: 4_000,
      ...(deadlineBound ? { headersTimeout: 0, bodyTimeout: 0 } : {}),
    };
    this.#agentOptions = common;
    if (PROXY_ENV.some((k) => process.env[k])) {
      // HTTP_PROXY / HTTPS_PROXY / NO_PROXY, as curl reads them; the proxy path has no socket timing.
      // The proxy agent needs undici's API methods on Dispatcher.prototype (it calls client.connect()),
      // which only the package index installs: pay for the full load only when a proxy is configured.
      const { EnvHttpProxyAgent } = requireCjs('undici') as typeof import('undici');
      this.#dispatcher = new EnvHttpProxyAgent({ ...common, connect: tls, requestTls: tls });
    } else {
      const connectorOptions = {
        ...tls,
        allowH2: options.http2,
        // 0 disables undici's connect timer; the attempt's signal still bounds the call.
        timeout: this.#connectTimeoutMs,
        lookup: lookupLoopbackNames,
      };
      const plain = buildConnector(connectorOptions);
      // One secure context for every TLS connection, built before the first https call's clock
      // (prepareTls, from warmUp) or at the latest on its first connect. A plain http:// run never
      // builds one, so it never loads node:tls and node:crypto (~35 ms of a one-shot run).
      let secure: BuildConnectorType.connector | undefined;
      const prepareTls = () => {
        secure ??= buildConnector({
          ...connectorOptions,
          secureContext: createSecureContext({
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert } : {}),
            ...(tls.key ? { key: tls.key } : {}),
          }),
        });
        return secure;
      };
      this.#prepareTls = prepareTls;
      const connector: BuildConnectorType.connector = (opts, callback) =>
        (opts.protocol === 'https:' ? prepareTls() : plain)(opts, callback);
      this.#connect = this.#hooked(connector, options.route);
      this.#dispatcher = new Agent({ ...common, connect: this.#connect });
    }
    this.#directSize =
      options.connections && !options.http2 && this.#connect ? options.connections : undefined;
  }

  /**
   * Load mode's own connections to `origin` (see DirectPool), or undefined: the Agent serves it.
   * Asked once per distinct call (see attemptInto), not per request.
   */
  #directFor(origin: string): DirectPool | undefined {
    const size = this.#directSize;
    if (size === undefined || this.#connect === undefined) return undefined;
    if (this.#direct === undefined) {
      const { connections: _, ...clientOptions } = this.#agentOptions;
      this.#direct = new DirectPool(origin, size, { ...clientOptions, connect: this.#connect });
    }
    return this.#direct.origin === origin ? this.#direct : undefined;
  }

  /**
   * undici's connector with our socket hooks: timing, the interim-response skip, the held 'end', the
   * TLS observation, and --resolve/--connect-to (`route`). The warm-up's connector is built here too
   * (without a route), so it runs this very code.
   */
  #hooked(
    connector: BuildConnectorType.connector,
    route: HttpTransportOptions['route'],
  ): BuildConnectorType.connector {
    return (opts, callback) => {
      // Only the socket's address changes: `host` (Host header, SNI) stays the URL's.
      const to = route?.(opts.hostname, Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80));
      const target = to ? { ...opts, hostname: to.hostname, port: String(to.port) } : opts;
      // node:http2 (and the GOAWAY fix over it) is loaded only once a server has chosen h2: most
      // https servers answer http/1.1, and loading it costs 25-40 ms of start-up.
      const onSocket: BuildConnectorType.Callback = (...args) => {
        const sock = args[1] as (TLSSocket & { alpnProtocol?: string | false }) | null;
        if (sock?.alpnProtocol === 'h2') letGracefulGoawayFinish();
        callback(...args);
      };
      // The connection's clock starts before the connector: net/tls.connect do real work
      // synchronously (socket and TLS set-up, Node's IP-literal check), which belongs to dns/connect
      // as curl's socket set-up belongs to its time_connect.
      const start = performance.now();
      const socket = connector(target, this.#http2 ? onSocket : callback) as unknown;
      if (socket && typeof socket === 'object' && 'once' in socket) {
        watchSocket(socket as TLSSocket, start);
        skipInterimResponses(socket as TLSSocket);
        holdEndWhileParserPaused(socket as TLSSocket);
        observeTls(socket as TLSSocket, this.#tlsSeen);
      }
    };
  }

  /**
   * One GET before the clock starts, through the same code as the call about to be made: a connector
   * wrapped by `#hooked` (the same socket hooks, no --resolve or --connect-to route, so it can never
   * reach the peer), the diagnostics-channel timing subscribers, and the same body handling
   * (Transform, pipeline, the sink's Writable; a file or the terminal is never written), against an
   * in-process loopback server. For an https call the warm-up is https too (a throwaway certificate that only the
   * warm-up trusts, warm-up-tls.ts): Node's TLS socket, handshake and certificate check run their
   * JavaScript for the first time otherwise inside the measured connect and first byte (measured:
   * 13 ms of a 20 ms first byte on loopback). Measured (issue 10): the first request of a process
   * spent 20-100 ms in undici's first-use work (JIT, parser set-up) that curl, being native, never
   * pays. The peer is never contacted, and a failure here is ignored (the first call then pays).
   */
  async warmUp(sample: HttpCall): Promise<void> {
    // Once per process: a check file runs many HTTP steps in one process, and only the first pays.
    if (sample.url.protocol === 'https:') {
      this.#prepareTls?.();
      // A server that picks h2 has undici require node:http2 (~10-25 ms) once the handshake is done,
      // inside the measured first byte (read ~15 ms above curl's on h2). Loaded here, before the
      // clock, whenever h2 is offered; an http/1.1 answer then paid for it needlessly, but outside.
      if (this.#http2) letGracefulGoawayFinish();
    }
    if (requestPathWarm) return;
    requestPathWarm = true;
    const hostname = sample.url.hostname.replace(/^\[|\]$/g, '');
    // A host name (not an IP literal) goes through node:net's isIP on every connect (and in TLS,
    // for SNI and the certificate check), which runs a large IPv6 regexp: V8 compiles it on first
    // use (~15 ms here) and again to native code on the second (~3 ms). Both now, not in the call.
    if (isIP(hostname) === 0) isIP(hostname);
    prepareResolverFor(hostname);
    const https = sample.url.protocol === 'https:' && this.#connect !== undefined;
    // A real loopback peer, not an in-memory one: tried (it saves listen() and the peer's side), but
    // then net.connect and the socket's read path ran cold inside the measured call: connect read
    // 1.9 ms against 1.0 ms (curl: 0.2 ms), medians of 7 at real-time priority. Timing that matches
    // curl comes first. The peer is a canned-reply TCP/TLS server (warm-up-peer.ts), not node:http's.
    let peer: WarmUpPeer | undefined;
    // An Agent of its own (the same classes, a connector wrapped the same way), destroyed before the
    // real call: the run's dispatcher would be left tearing down the warm-up's connection inside the
    // measured call (measured: the first connect took 15-35 ms instead of ~1 ms). Behind a proxy the
    // warm-up goes over a bare connector, never to the proxy.
    const connect = this.#hooked(
      buildConnector({
        ...(https ? { secureContext: createSecureContext({ ca: WARM_UP_CERT }) } : {}),
        // A name is checked as the call's will be (SNI, certificate names); an IP as an IP.
        ...(https && isIP(hostname) === 0 ? { servername: 'localhost' } : {}),
        rejectUnauthorized: true,
        allowH2: this.#http2,
        timeout: 5_000,
      }),
      undefined,
    );
    const agent = new Agent({ ...this.#agentOptions, connect });
    // -o: the modules a file body needs, loaded now rather than between the call's head and body.
    if (sample.bodyMode === 'file') prepareFileWrites();
    let h2Peer: WarmUpPeer | undefined;
    try {
      peer = await startWarmUpPeer(https ? { cert: WARM_UP_CERT, key: WARM_UP_KEY } : undefined);
      const url = new URL(`${https ? 'https' : 'http'}://127.0.0.1:${peer.port}/`);
      if (!this.#connect) {
        const res = await this.#request.call(agent, {
          origin: url.origin,
          path: '/',
          method: 'GET',
          headers: { 'user-agent': 'comms-cli warm-up' },
        });
        await res.body.dump();
        return;
      }
      const {
        body: _body,
        sink: _sink,
        outputFile: _file,
        outputTarget: _target,
        onRedirect: _hop,
        cookies: _cookies,
        ...rest
      } = sample;
      const call: HttpCall = {
        ...rest,
        target: url.toString(),
        url,
        method: 'GET',
        headers: { 'user-agent': 'comms-cli warm-up' },
        followRedirects: false,
        // -o writes through a temp file: the warm-up keeps the body in memory instead.
        bodyMode: sample.bodyMode === 'file' ? 'buffer' : sample.bodyMode,
        ...(sample.bodyMode === 'stream' ? { sink: NULL_SINK } : {}),
      };
      const once = async (to: URL): Promise<void> => {
        const reply = await this.#attempt(
          { ...call, target: to.toString(), url: to },
          { signal: AbortSignal.timeout(5_000), attempt: 1, timing: new TimingRecorder() },
          agent,
        );
        this.describe(reply, call);
      };
      await once(url);
      // undici reads the response's Keep-Alive header with a regexp, which V8 compiles to native code
      // on its second use: that is the warm-up's, not the call's.
      undiciUtil.parseKeepAliveTimeout('timeout=5');
      // An https call that offers h2 gets an h2 answer from most servers: undici's h2 client and
      // Node's http2 session run their JavaScript for the first time otherwise between the handshake
      // and the first byte (measured: first byte ~15 ms above curl's on an h2 server, 100 ms wait).
      if (https && this.#http2) {
        h2Peer = await startWarmUpH2Peer({ cert: WARM_UP_CERT, key: WARM_UP_KEY });
        await once(new URL(`https://127.0.0.1:${h2Peer.port}/`));
      }
    } catch {
      // best effort
    } finally {
      await agent.destroy().catch(() => {});
      await peer?.close();
      await h2Peer?.close();
    }
  }

  async attempt(call: HttpCall, ctx: AttemptContext): Promise<HttpReply> {
    this.#forgetTls();
    try {
      return await this.#attempt(call, ctx);
    } catch (err) {
      throw this.#explain(err, call);
    }
  }

  /**
   * Load mode's plainest request (body discarded; no redirect to follow, cookie jar or -C): undici's
   * handler reports straight to the pipeline's sink, without `attempt`'s two async frames and promise.
   * Anything else goes through `attempt`.
   */
  attemptInto(call: HttpCall, ctx: AttemptContext, sink: AttemptSink<HttpReply>): void {
    if (call.bodyMode !== 'discard' || call.followRedirects || call.cookies || call.resume) {
      this.attempt(call, ctx).then(
        (reply) => sink.reply(reply),
        (err: unknown) => sink.fail(err),
      );
      return;
    }
    this.#forgetTls();
    if (ctx.signal.aborted) {
      sink.fail(ctx.signal.reason);
      return;
    }
    const hop = this.#firstHop(call, call.body ?? call.form);
    const handler = new DiscardHandler(ctx, new SinkReport(this.#explainer, call, sink));
    // Asked here, not when the hop is built: the warm-up's request (another origin, through
    // `attempt`) must not claim the DirectPool.
    if (hop.direct === undefined) hop.direct = this.#directFor(hop.opts.origin as string) ?? null;
    // dispatch() reports its own failures through the handler's onError.
    const direct = hop.direct;
    if (direct) direct.dispatch(hop.opts, handler);
    else this.#dispatcher.dispatch(hop.opts, handler);
  }

  /** A new attempt: what the last TLS handshake saw no longer explains anything (plain http: nothing to do). */
  #forgetTls(): void {
    const seen = this.#tlsSeen;
    if (seen.cert !== undefined) delete seen.cert;
    if (seen.alert !== undefined) delete seen.alert;
  }

  /** What a failed attempt reports: undici's and TLS errors explained as the contract's errors. */
  readonly #explainer = (err: unknown, call: HttpCall): unknown => this.#explain(err, call);

  #explain(err: unknown, call: HttpCall): unknown {
    const code = errorCode(err);
    if (call.url.protocol === 'https:') {
      const tls = explainTlsError(err, call.target, this.#tlsSeen, {
        ...(call.tlsInfo?.servername ? { servername: call.tlsInfo.servername } : {}),
        clientCert: call.tlsInfo?.clientCert === true,
        http2: this.#http2,
      });
      if (tls) return tls;
    }
    // An HTTP/2 stream reset is the same event as an HTTP/1.1 connection dropped: the transfer did
    // not complete (exit 3, as curl's 92 and 18/56 are both transfer failures).
    if (code === 'ERR_HTTP2_STREAM_ERROR' || code === 'ERR_HTTP2_SESSION_ERROR')
      return new ConnectError(
        `the server reset the HTTP/2 stream (${(err as Error).message}) (${call.target})`,
        {
          cause: err,
          code: 'COMMS_ERR_CONNECT',
        },
      );
    if (code === 'UND_ERR_NOT_SUPPORTED' && /expect/i.test((err as Error).message))
      return new UsageError("-H 'Expect: ...' is not supported: comms-cli sends the body with the request");
    if (code === 'UND_ERR_CONNECT_TIMEOUT')
      return new TimeoutError(
        `connect timed out after ${formatMs(this.#connectTimeoutMs)} (${call.target})`,
        {
          cause: err,
          code: 'COMMS_ERR_CONNECT_TIMEOUT',
        },
      );
    return err;
  }

  async #attempt(
    call: HttpCall,
    ctx: AttemptContext,
    dispatcher: Dispatcher = this.#dispatcher,
  ): Promise<HttpReply> {
    let url = call.url;
    let method: string = call.method;
    let body: Buffer | FormData | undefined = call.body ?? call.form;
    // Never changed in place: a redirect, a digest answer or -C's Range builds a new object.
    let headers: Record<string, string> = call.headers;
    // -C: asked per attempt, so a retry after a transfer cut midway resumes after what it appended.
    const rangeFrom = call.resume ? await resumeOffset(call) : 0;
    if (rangeFrom > 0) headers = { ...headers, Range: `bytes=${rangeFrom}-` };
    let redirects = 0;
    /** --digest: the URL whose 401 challenge was answered (each is answered once). */
    let digestAnswered: string | undefined;
    for (;;) {
      if (call.bodyMode === 'discard') {
        // Load mode's hot path: no body stream, no per-request async iterator, no signal for undici
        // to listen on (the handler does), and the first hop's options built once per call.
        const opts: Dispatcher.DispatchOptions =
          redirects === 0 && !call.cookies
            ? this.#firstHop(call, body).opts
            : {
                origin: url.origin,
                path: `${url.pathname}${url.search}`,
                method: method as Dispatcher.HttpMethod,
                headers: withJarCookies(headers, call.cookies, url),
                ...(body !== undefined ? { body } : {}),
                ...this.#pipelineOpts,
              };
        const res = await this.#dispatchDiscard(dispatcher, opts, ctx);
        call.cookies?.receive(url, res.headers['set-cookie']);
        const location = headerValue(res.headers.location);
        if (call.followRedirects && REDIRECT_STATUSES.has(res.statusCode) && location) {
          ({ url, method, body, headers, redirects } = this.#redirect(
            call,
            url,
            method,
            body,
            headers,
            redirects,
            res.statusCode,
            location,
          ));
          continue;
        }
        return new DiscardedReply(res, url, redirects);
      }
      const opts: Dispatcher.RequestOptions = {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: method as Dispatcher.HttpMethod,
        headers: withJarCookies(headers, call.cookies, url),
        ...(body !== undefined ? { body } : {}),
        ...this.#pipelineOpts,
        signal: ctx.signal,
      };
      const res = this.#measurePhases
        ? await withRecorder(ctx.timing, () => this.#request.call(dispatcher, opts))
        : await this.#request.call(dispatcher, opts);
      call.cookies?.receive(url, res.headers['set-cookie']);
      if (call.digest && res.statusCode === 401 && digestAnswered !== url.href) {
        const challenge = parseDigestChallenge(res.headers['www-authenticate']);
        if (challenge) {
          await res.body.dump();
          digestAnswered = url.href;
          headers = {
            ...withoutHeaders(headers, ['authorization']),
            Authorization: digestAuthorization(
              challenge,
              call.digest,
              method,
              `${url.pathname}${url.search}`,
            ),
          };
          continue;
        }
      }
      const location = headerValue(res.headers.location);
      if (call.followRedirects && REDIRECT_STATUSES.has(res.statusCode) && location) {
        await res.body.dump();
        const from = url;
        ({ url, method, body, headers, redirects } = this.#redirect(
          call,
          url,
          method,
          body,
          headers,
          redirects,
          res.statusCode,
          location,
        ));
        call.onRedirect?.({
          status: res.statusCode,
          statusText: res.statusText ?? '',
          httpVersion: protocolOf(ctx.timing) === 'h2' ? 'HTTP/2' : 'HTTP/1.1',
          from: from.toString(),
          location,
          to: url.toString(),
          method,
        });
        continue;
      }
      const reply: HttpReply = {
        status: res.statusCode,
        statusText: res.statusText ?? '',
        httpVersion: protocolOf(ctx.timing) === 'h2' ? 'HTTP/2' : 'HTTP/1.1',
        headers: res.headers as Record<string, string | string[]>,
        bytes: 0,
        url: url.toString(),
        redirects,
      };
      if (call.resume) {
        reply.rangeFrom = rangeFrom;
        if (rangeFrom > 0 && !(await checkRangeReply(call, res, reply, rangeFrom))) return reply;
      }
      await this.#readBody(call, res, reply, ctx);
      return reply;
    }
  }

  /** One redirect step of -L: bounded, 303 (and 301/302 after POST) become GET, credentials stay on their origin. */
  #redirect(
    call: HttpCall,
    url: URL,
    method: string,
    body: Buffer | FormData | undefined,
    headers: Record<string, string>,
    redirects: number,
    statusCode: number,
    location: string,
  ): {
    url: URL;
    method: string;
    body: Buffer | FormData | undefined;
    headers: Record<string, string>;
    redirects: number;
  } {
    redirects += 1;
    if (redirects > call.maxRedirects) {
      throw new ResponseError(`too many redirects: more than ${call.maxRedirects} (last to ${location})`, {
        code: 'COMMS_ERR_TOO_MANY_REDIRECTS',
        hint: 'raise --max-redirs, or check for a redirect loop',
      });
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new ResponseError(
        `redirect to an invalid URL: Location: ${location} (from ${redactUrl(url.toString())})`,
        {
          code: 'COMMS_ERR_REDIRECT',
        },
      );
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new ResponseError(
        `redirect to a ${next.protocol.replace(/:$/, '')}: URL refused: Location: ${location} (from ${redactUrl(url.toString())})`,
        { code: 'COMMS_ERR_REDIRECT', hint: '-L follows http:// and https:// only' },
      );
    if (statusCode === 303 || ((statusCode === 301 || statusCode === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = withoutHeaders(headers, ['content-type', 'content-length']);
    }
    // Credentials do not follow a redirect to another origin (curl does the same).
    if (next.origin !== url.origin)
      headers = withoutHeaders(headers, ['authorization', 'cookie', 'proxy-authorization']);
    return { url: next, method, body, headers, redirects };
  }

  /** dispatch() with a minimal handler that counts and drops the body (load mode). */
  #dispatchDiscard(
    dispatcher: Dispatcher,
    opts: Dispatcher.DispatchOptions,
    ctx: AttemptContext,
  ): Promise<DiscardHandler> {
    return new Promise((resolve, reject) => {
      if (ctx.signal.aborted) {
        reject(ctx.signal.reason);
        return;
      }
      // dispatch() reports its own failures through the handler's onError.
      dispatcher.dispatch(opts, new DiscardHandler(ctx, { complete: resolve, fail: reject }));
    });
  }

  /**
   * The dispatch options of a call's first hop without cookies (and, in load mode, the DirectPool
   * that carries it), built once per call: in load mode without templates every call is the same object,
   * and undici only reads these options.
   */
  #firstHop(call: HttpCall, body: Buffer | FormData | undefined): FirstHop {
    // Without templates every call of a load run is the same object: no WeakMap lookup for it.
    const last = this.#lastHop;
    if (last !== undefined && call === last.call) return last;
    let hop = this.#firstHops.get(call);
    if (!hop) {
      const opts: Dispatcher.DispatchOptions = {
        origin: call.url.origin,
        path: `${call.url.pathname}${call.url.search}`,
        method: call.method as Dispatcher.HttpMethod,
        headers: call.headers,
        ...(body !== undefined ? { body } : {}),
        ...this.#pipelineOpts,
      };
      hop = { call, opts, direct: undefined };
      this.#firstHops.set(call, hop);
    }
    this.#lastHop = hop;
    return hop;
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
    const decoder = call.decompress && call.method !== 'HEAD' ? decoderFor(encoding) : undefined;
    // What is held in memory is capped (--max-body), counted after decoding: a 1 MB gzip bomb must
    // not become 1 GB here. Streamed bodies (stdout, -o) flow with backpressure in constant memory.
    const cap = call.bodyMode === 'buffer' && call.maxBody ? call.maxBody : 0;
    let overCap: LocalError | undefined;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        reply.bytes += chunk.length;
        if (cap && reply.bytes > cap) {
          overCap = new LocalError(
            `the response body of ${call.target} is larger than --max-body ${formatBytes(cap)} (decoded): comms-cli holds it in memory for --json and --expect-body/--expect-json`,
            {
              code: 'COMMS_ERR_MAX_BODY',
              hint: 'raise --max-body SIZE (0: no limit), or stream it: without --json to stdout, or -o FILE',
            },
          );
          cb(overCap);
          return;
        }
        cb(null, chunk);
      },
    });
    let decodeError: Error | undefined;
    decoder?.once('error', (err: Error) => {
      decodeError = err;
    });
    const stages: Stage[] = decoder ? [source, decoder, counter] : [source, counter];
    try {
      await this.#pipeBody(call, res, reply, ctx, stages);
    } catch (err) {
      if (overCap && err === overCap) {
        reply.localFailure = overCap;
        delete reply.body;
        return;
      }
      if (decodeError && err === decodeError)
        throw new ResponseError(
          `could not decode the ${encoding} body of ${call.target}: ${decodeError.message}`,
          { cause: err, code: 'COMMS_ERR_DECODE', hint: 'add --no-decompress to get the raw bytes as sent' },
        );
      // comms-cli's own side failed (disk full writing -o): a local failure that keeps the status.
      const local = toCommsError(err, call.target);
      if (local.kind === 'local') {
        reply.localFailure = local;
        return;
      }
      throw err;
    }
    if (call.describeBody && reply.body && reply.body.length > 0) {
      try {
        reply.described = exactJsonBody(reply.body, headerValue(res.headers['content-type']));
      } catch (err) {
        reply.localFailure = new LocalError(
          `comms-cli could not re-encode the body of ${call.target} for --json: ${(err as Error).message}`,
          {
            cause: err,
            hint: 'the body is nested too deeply or too large for a JSON result: drop --json, or write it with -o FILE',
          },
        );
      }
    }
  }

  async #pipeBody(
    call: HttpCall,
    _res: Dispatcher.ResponseData,
    reply: HttpReply,
    ctx: AttemptContext,
    stages: Stage[],
  ): Promise<void> {
    if (call.bodyMode === 'file' && call.outputTarget && call.resume?.append) {
      // -C with -o: only the body that continues the file is appended (a 206 to the Range, or a 2xx
      // when no Range was sent); an error page is read and dropped. Why append rather than a copy:
      // see ResumePlan in commands/request.ts.
      const continues = reply.status === 206 || (reply.rangeFrom === 0 && reply.status < 300);
      if (!continues) {
        await pipeline([...stages, dropAll()], { signal: ctx.signal });
        return;
      }
      const handle = await openFile(call.outputTarget.path, 'a');
      try {
        await pipeline([...stages, handle.createWriteStream()], { signal: ctx.signal });
      } finally {
        await handle.close().catch(() => {});
      }
      return;
    }
    if (call.bodyMode === 'file' && call.outputTarget) {
      const target = call.outputTarget;
      if (target.how === 'through') {
        // A device, FIFO or socket: written into, never replaced (as curl does with -o /dev/null).
        await pipeline([...stages, createWriteStream(target.path, { flags: 'w' })], { signal: ctx.signal });
        return;
      }
      // Stream to an exclusively created temp file beside the target; it becomes the file only when
      // the call succeeds. A previous attempt's temp file (a retried 503, say) is removed first.
      const previous = this.#tempFiles.get(call);
      if (previous) await discardTemp(previous);
      const { path: temp, handle } = await openTemp(target.path);
      this.#tempFiles.set(call, temp);
      try {
        await pipeline([...stages, handle.createWriteStream()], { signal: ctx.signal });
      } catch (err) {
        await handle.close().catch(() => {});
        await discardTemp(temp);
        this.#tempFiles.delete(call);
        throw err;
      }
      reply.tempFile = temp;
      return;
    }
    if (call.bodyMode === 'stream' && call.sink?.head(reply)) {
      // Printed as it arrives (/drip, long polls); what arrived before a timeout is already out.
      const sink = call.sink;
      reply.streamed = true;
      const write = new Writable({
        write(chunk: Buffer, _enc, cb) {
          sink.chunk(chunk).then(() => cb(), cb);
        },
      });
      await pipeline([...stages, write], { signal: ctx.signal });
      await sink.end();
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
    const answer = outcome.reply;
    // The common case first: an answer with an accepted status (nothing else to look at).
    if (answer && !answer.localFailure && !answer.rangeDone) {
      const status = answer.status;
      if (call.expectStatus ? call.expectStatus.test(status) : status < 400)
        return { ok: true, retryable: false, peerFault: false, status };
    }
    const retryAllowed = call.retryUnsafe || IDEMPOTENT_METHODS.has(call.method);
    if (outcome.reply?.localFailure) {
      // comms-cli's own limit, not the peer's fault: keep status and headers, exit 6, no retry.
      const { reply } = outcome;
      return {
        ok: false,
        retryable: false,
        peerFault: false,
        status: reply.status,
        error: reply.localFailure,
      };
    }
    if (outcome.reply?.rangeDone) {
      // -C on a complete file: curl exits 0 on the 416 (or a 200 exactly the offset long).
      return { ok: true, retryable: false, peerFault: false, status: outcome.reply.status };
    }
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
    const retryStatus = RETRYABLE_STATUSES.has(status) || call.retryOn?.test(status) === true;
    const text = `HTTP ${status}${reply.statusText ? ` ${reply.statusText}` : ''}`;
    const error: CommsError = call.expectStatus
      ? new ExpectationError(
          `expected status ${call.expectStatus.text}, got ${status}${reply.statusText ? ` ${reply.statusText}` : ''}`,
        )
      : new ResponseError(
          `${text} from ${call.method} ${reply.redirects > 0 ? redactUrl(reply.url) : call.target}`,
          {
            code: 'COMMS_ERR_HTTP_STATUS',
            ...(retryStatus && !retryAllowed
              ? { hint: `${call.method} is not retried unless --retry-unsafe or --idempotency-key is given` }
              : !retryStatus && (call.retries ?? 0) > 0 && (status >= 500 || status === 408)
                ? {
                    hint: `${status} is not retried by default (only ${[...RETRYABLE_STATUSES].join(', ')} are): add --retry-on ${status} to retry it`,
                  }
                : {}),
          },
        );
    const retryAfterMs = parseRetryAfter(reply.headers['retry-after']);
    return {
      ok: false,
      retryable: retryStatus && retryAllowed,
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
    if (call.resume) fields.resumedFrom = call.resume.offset;
    if (reply.rangeDone) fields.alreadyComplete = true;
    if (call.bodyMode === 'file') fields.output = call.outputFile;
    else if (reply.described) Object.assign(fields, reply.described);
    return fields;
  }

  async close(): Promise<void> {
    // destroy, not close: a keep-alive pool must not hold the process open after the last call.
    await Promise.all([this.#dispatcher.destroy().catch(() => {}), this.#direct?.destroy()]);
  }
}

/**
 * -C: the first byte this attempt asks for. With -o it is the offset plus whatever earlier attempts
 * of this call appended (the file's growth), so a retry continues rather than starting over.
 */
async function resumeOffset(call: HttpCall): Promise<number> {
  const resume = call.resume;
  if (!resume) return 0;
  if (!resume.append || !call.outputTarget) return resume.offset;
  const size = await stat(call.outputTarget.path).then(
    (st) => st.size,
    () => 0,
  );
  return resume.offset + Math.max(0, size - (resume.fileSize ?? 0));
}

/**
 * -C: is this reply the continuation asked for? As curl: a 206 whose Content-Range starts at the
 * offset is (true: read the body); a 416, or a 200 whose length is exactly the offset, means the file
 * is already complete (false: body dropped, the call succeeds); a 2xx that is not such a 206 means the
 * server ignored or misread the Range (curl's exit 33, "doesn't seem to support byte ranges"), which
 * is a failed call here (exit 1) with nothing written. Other statuses are judged as usual.
 */
async function checkRangeReply(
  call: HttpCall,
  res: Dispatcher.ResponseData,
  reply: HttpReply,
  from: number,
): Promise<boolean> {
  const length = headerValue(reply.headers['content-length']);
  const complete =
    reply.status === 416 || (reply.status === 200 && length !== undefined && Number(length) === from);
  if (complete) {
    await res.body.dump().catch(() => {});
    reply.rangeDone = true;
    return false;
  }
  if (reply.status < 200 || reply.status >= 300) return true;
  const range = headerValue(reply.headers['content-range']);
  const start = range === undefined ? undefined : /^\s*bytes\s+(\d+)-\d+\/(?:\d+|\*)\s*$/i.exec(range)?.[1];
  if (reply.status === 206 && start !== undefined && Number(start) === from) return true;
  await res.body.dump().catch(() => {});
  const answered =
    reply.status === 206
      ? `206 with Content-Range: ${range === undefined ? '(none)' : JSON.stringify(range)}`
      : `${reply.status} with the whole body`;
  throw new ResponseError(
    `the server does not seem to support byte ranges: asked for Range: bytes=${from}-, it answered ${answered}; cannot resume (${call.target})`,
    {
      code: 'COMMS_ERR_RANGE',
      hint: call.resume?.append
        ? 'the -o file is left as it was; download it again without -C'
        : 'download it again without -C',
    },
  );
}

/** A sink that reads a body to the end and keeps nothing. */
function dropAll(): Writable {
  return new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });
}

/**
 * Load mode's response handler: counts and drops the body, and is itself the abort listener of the
 * attempt's signal (no closures per request). It implements undici's own handler interface, the one
 * undici's request API uses and its Client calls directly: a handler written against the newer
 * controller interface is wrapped per request (two more objects) and its headers parsed by the
 * wrapper. Resolved with itself once the response ends.
 */
class DiscardHandler implements PooledHandler {
  /** The connection this request borrowed from a DirectPool, given back when it ends. */
  lease: Lease | undefined = undefined;
  /** The DirectPool whose queue this request waits in for a connection (see PooledHandler). */
  queuedIn: DirectPool | undefined = undefined;
  statusCode = 0;
  statusText = '';
  bytes = 0;
  /** The response's header lines as undici read them, parsed only when something reads `headers`. */
  #rawHeaders: Buffer[] | undefined;
  #headers: Record<string, string | string[]> | undefined;
  readonly #signal: AbortSignal;
  /** Listening on the signal itself (the attempt offered no direct abort listener). */
  readonly #listening: boolean;
  readonly #report: DiscardReport;
  #abort: ((err?: Error) => void) | undefined;

  constructor(ctx: AttemptContext, report: DiscardReport) {
    this.#signal = ctx.signal;
    this.#report = report;
    this.#listening = ctx.onAbort === undefined;
    if (ctx.onAbort) ctx.onAbort(this);
    else ctx.signal.addEventListener('abort', this);
  }

  /**
   * The signal aborted (timeout, Ctrl-C): undici fails the request through onError; a request still
   * waiting for one of load mode's connections leaves the queue and fails at once.
   */
  handleEvent(): void {
    const reason = this.#signal.reason as Error;
    if (this.#abort) this.#abort(reason);
    else this.queuedIn?.cancel(this, reason);
  }

  onConnect(abort: (err?: Error) => void): void {
    if (this.#signal.aborted) abort(this.#signal.reason as Error);
    else this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], _resume: () => void, statusText: string): boolean {
    this.statusCode = statusCode;
    this.statusText = statusText ?? '';
    this.#rawHeaders = rawHeaders;
    return true;
  }

  /**
   * The headers as an object, parsed on first use: in a load run usually nothing reads them (no
   * --expect-header, no Retry-After to honour), and parsing every response's headers into strings
   * was ~8% of an HTTP load run's CPU (alternating pairs, 200k requests).
   */
  get headers(): Record<string, string | string[]> {
    this.#headers ??= this.#rawHeaders ? undiciUtil.parseHeaders(this.#rawHeaders) : {};
    this.#rawHeaders = undefined;
    return this.#headers;
  }

  onData(chunk: Buffer): boolean {
    this.bytes += chunk.length;
    return true;
  }

  onComplete(): void {
    if (this.#listening) this.#signal.removeEventListener('abort', this);
    this.#giveBack();
    this.#report.complete(this);
  }

  onError(err: Error): void {
    if (this.#listening) this.#signal.removeEventListener('abort', this);
    this.#giveBack(true);
    this.#report.fail(err);
  }

  /** Before reporting: the call started from the report may take the same connection. */
  #giveBack(failed = false): void {
    const lease = this.lease;
    if (lease === undefined) return;
    this.lease = undefined;
    lease.pool.release(lease, failed);
  }
}

/** Where a DiscardHandler reports: a promise's resolve/reject, or a SinkReport. */
interface DiscardReport {
  complete(handler: DiscardHandler): void;
  fail(err: unknown): void;
}

/** attemptInto's report: the handler's response as the reply, its error explained, to the sink. */
class SinkReport implements DiscardReport {
  constructor(
    readonly explain: (err: unknown, call: HttpCall) => unknown,
    readonly call: HttpCall,
    readonly sink: AttemptSink<HttpReply>,
  ) {}

  complete(handler: DiscardHandler): void {
    this.sink.reply(new DiscardedReply(handler, this.call.url, 0));
  }

  fail(err: unknown): void {
    this.sink.fail(this.explain(err, this.call));
  }
}

/**
 * The reply of a request whose body was counted and dropped (load mode): its headers stay unparsed
 * until read (see DiscardHandler.headers).
 */
class DiscardedReply implements HttpReply {
  readonly status: number;
  readonly statusText: string;
  readonly httpVersion = 'HTTP/1.1';
  readonly bytes: number;
  readonly redirects: number;
  readonly #res: DiscardHandler;
  readonly #url: URL;

  constructor(res: DiscardHandler, url: URL, redirects: number) {
    this.status = res.statusCode;
    this.statusText = res.statusText;
    this.bytes = res.bytes;
    this.redirects = redirects;
    this.#res = res;
    this.#url = url;
  }

  get headers(): Record<string, string | string[]> {
    return this.#res.headers;
  }

  /** The final URL, serialised when read. */
  get url(): string {
    return this.#url.toString();
  }
}

export function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function withoutHeaders(headers: Record<string, string>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!names.includes(k.toLowerCase())) out[k] = v;
  return out;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024 && n % (1024 * 1024 * 1024) === 0) return `${n / 1024 / 1024 / 1024} GiB`;
  if (n >= 1024 * 1024) return `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} KiB`;
  return `${n} B`;
}
