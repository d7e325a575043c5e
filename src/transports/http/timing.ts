import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { performance } from '../../core/clock.js';
import type { TimingRecorder } from '../../core/timing.js';

/**
 * Real socket timing for undici requests, without touching the hot path of undici itself:
 *
 * - Our connector wrapper (`watchSocket`) notes when a new socket started, resolved DNS (`lookup`),
 *   connected (`connect`) and finished TLS (`secureConnect`).
 * - undici publishes `undici:request:create` synchronously inside `dispatch()`, so the recorder of the
 *   attempt being dispatched (`currentRecorder`) is bound to undici's request object there.
 * - `undici:client:sendHeaders` names the socket a request went out on: a new socket's phases are
 *   copied to that request's recorder (a reused keep-alive socket has none, and shows none).
 * - `undici:request:headers` is the first response byte (status line + headers parsed).
 * - `undici:request:trailers` is the response complete (the parser reached the message's end): the
 *   total, as curl's is the end of the transfer. Marked at the wire rather than when our own body
 *   stages (Transform, pipeline, the stdout sink) have drained: that plumbing runs ~1-2 ms of
 *   interpreted JavaScript after the last byte on a cold process, which curl, writing from its receive
 *   callback, does not have (measured against curl -w; docs/http.md "Timing"). With -L the last hop's
 *   end wins; an attempt that never completes is totalled by the pipeline when it ends.
 */
interface SocketTimes {
  start: number;
  lookup?: number;
  connect?: number;
  secure?: number;
  used?: boolean;
}

const socketTimes = new WeakMap<Socket, SocketTimes>();
const requestRecorders = new WeakMap<object, TimingRecorder>();
const protocols = new WeakMap<TimingRecorder, string>();
let currentRecorder: TimingRecorder | undefined;
let subscribed = false;

/** `start`: when the connector was called (its synchronous socket set-up is part of the connect). */
export function watchSocket(socket: Socket, start = performance.now()): void {
  const times: SocketTimes = { start };
  socketTimes.set(socket, times);
  // prepend: undici's own listener writes the queued request (publishing sendHeaders) synchronously
  // inside its 'connect' handler, so ours must run first to be seen.
  socket.prependOnceListener('lookup', () => (times.lookup = performance.now()));
  socket.prependOnceListener('connect', () => (times.connect = performance.now()));
  socket.prependOnceListener('secureConnect', () => (times.secure = performance.now()));
}

function ensureSubscribed(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('undici:request:create', (msg) => {
    const { request } = msg as { request: object };
    if (currentRecorder) requestRecorders.set(request, currentRecorder);
  });
  subscribe('undici:client:sendHeaders', (msg) => {
    const { request, socket } = msg as { request: object; socket: Socket };
    const rec = requestRecorders.get(request);
    if (rec) {
      const alpn = (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol;
      if (alpn) protocols.set(rec, alpn);
    }
    const t = socketTimes.get(socket);
    if (!rec || !t || t.used) return;
    t.used = true; // phases belong to the first request on a socket only
    const tcpStart = t.lookup ?? t.start;
    if (t.lookup !== undefined) rec.set('dns', t.lookup - t.start);
    if (t.connect !== undefined) rec.set('connect', t.connect - tcpStart);
    if (t.secure !== undefined && t.connect !== undefined) rec.set('tls', t.secure - t.connect);
  });
  subscribe('undici:request:headers', (msg) => {
    const { request } = msg as { request: object };
    const rec = requestRecorders.get(request);
    if (rec && rec.get('firstByte') === undefined) rec.markSinceStart('firstByte');
  });
  subscribe('undici:request:trailers', (msg) => {
    const { request } = msg as { request: object };
    requestRecorders.get(request)?.markSinceStart('total');
  });
}

/** The ALPN protocol (`h2`, `http/1.1`) of the socket the recorder's request used, when TLS negotiated one. */
export function protocolOf(recorder: TimingRecorder): string | undefined {
  return protocols.get(recorder);
}

/** Run `dispatch` with `recorder` bound to the request(s) it creates synchronously. */
export function withRecorder<T>(recorder: TimingRecorder, dispatch: () => T): T {
  ensureSubscribed();
  currentRecorder = recorder;
  try {
    return dispatch();
  } finally {
    currentRecorder = undefined;
  }
}
