import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { StreamJudge, streamExpectationsFrom } from '../../../command/expect-options.js';
import { requestHeaders } from '../../../command/request-headers.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { performance } from '../../../core/clock.js';
import { formatMs } from '../../../core/duration.js';
import { parseMessageMatcher } from '../../../core/message-match.js';
import type { Result } from '../../../core/result.js';
import { type CallOutcome, CallPipeline } from '../../../core/run-call.js';
import { abortReasonToError } from '../../../errors/classify.js';
import {
  CommsError,
  ExpectationError,
  ResponseError,
  TimeoutError,
  UsageError,
} from '../../../errors/comms-error.js';
import { ExitCode, exitCodeForKind } from '../../../errors/exit-codes.js';
import { backoffDelay } from '../../../middleware/backoff.js';
import { formatAttempt, formatTiming } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { redactUrl } from '../../../output/redact.js';
import { WsTransport } from '../adapter.js';
import type { WsCall, WsHandshake } from '../call.js';
import { closeName, isCleanClose, isSendableCloseCode } from '../classify.js';
import type { WsConnection, WsEvent } from '../connection.js';
import { wsError } from '../errors.js';
import type { WsValues } from '../flags.js';
import { decodeBase64, type Outgoing, payloadOf, readMessages } from '../outgoing.js';
import type { WsPlan } from '../plan.js';
import { frameText, humanText, messageRecord, type ReceivedFrame } from '../print.js';
import { proxyFor, showProxy } from '../proxy.js';
import { parseWsUrl } from '../url.js';

/** How long a close handshake may take before the socket is dropped. */
const CLOSE_WAIT_MS = 2_000;

export { parseWsUrl };

function parseCloseCodes(spec: string, flag: string): number[] {
  const codes = spec.split(',').map((s) => s.trim());
  return codes.map((c) => {
    const n = Number(c);
    if (!/^\d+$/.test(c) || n < 1000 || n > 4999)
      throw new UsageError(
        `invalid ${flag} '${spec}': expected a close code 1000-4999 (e.g. 1000, 1011, 4000)`,
      );
    return n;
  });
}

export function wsPlanFrom(urlText: string, values: WsValues): WsPlan {
  const url = parseWsUrl(urlText);
  if (!isSendableCloseCode(values.closeCode))
    throw new UsageError(`invalid --close-code '${values.closeCode}': not a code an endpoint may send`, {
      hint: 'use 1000 (normal), 1001, 1002, 1003, 1007-1014, or an application code 3000-4999',
    });
  const closeReason = values.closeReason ?? '';
  if (Buffer.byteLength(closeReason) > 123)
    throw new UsageError(`invalid --close-reason: ${Buffer.byteLength(closeReason)} bytes, at most 123`);
  if (values.lines && values.message.some((m) => m === '@-'))
    throw new UsageError('--lines and -m @- both read stdin: use one');
  if (values.interval !== undefined && values.message.length === 0)
    throw new UsageError('--interval needs something to send: -m <text>');
  const settings = callSettingsFrom({ ...values, timeout: values.connectTimeout });
  if (values.expectCount !== undefined && settings.load)
    throw new UsageError(
      '--expect-count counts the messages of one session; it has no meaning in load mode',
      {
        hint: 'in load mode --expect-message checks every reply',
      },
    );
  if (values.replyMatch !== undefined && !settings.load)
    throw new UsageError('--reply-match is for load mode: add -n <count>, --duration <dur> or --rate <n>');
  return {
    url,
    values,
    idleMs: values.timeout,
    until: values.until !== undefined ? parseMessageMatcher(values.until, '--until') : undefined,
    expect: streamExpectationsFrom(values),
    expectClose:
      values.expectClose !== undefined ? parseCloseCodes(values.expectClose, '--expect-close') : undefined,
    closeReason,
    ...settings,
  };
}

/** argv -> WsCall: headers, basic auth, TLS material (an unreadable file is exit 2). */
function buildCall(plan: WsPlan): WsCall {
  const { values } = plan;
  const url = new URL(plan.url);
  const headers = requestHeaders(values.header, values.user, url);
  const proxy = proxyFor(url);
  for (const p of values.subprotocol)
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)) throw new UsageError(`invalid --subprotocol '${p}'`);
  return {
    target: values.showSecrets ? url.toString() : redactUrl(url.toString()),
    operation: 'connect',
    breakerKey: url.origin,
    url,
    headers,
    protocols: values.subprotocol,
    ...(values.origin !== undefined ? { origin: values.origin } : {}),
    tls: tlsFrom(values),
    ...(proxy ? { proxy } : {}),
  };
}

type StopReason = 'done' | 'closed' | 'timeout' | 'maxtime' | 'interrupted' | 'error';

/** What one connection's session ended with. */
interface SessionEnd {
  reason: StopReason;
  close?: { code: number; reason: string; by: 'server' | 'client' };
  error?: CommsError;
}

/** Counters across reconnections. */
interface State {
  received: number;
  sent: number;
  sendsDone: boolean;
  pingMs?: number;
  untilMatched: boolean;
  /** The shared stream judge (--expect-count, --expect-message) said the stream should stop. */
  judgeStop: boolean;
  /** The first frame's arrival (ms since the start of the attempt that first connected), for timing. */
  firstMessageAt?: number;
}

export async function runWs(plan: WsPlan, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const call = buildCall(plan);
  const { values } = plan;
  const outgoing = await readMessages(values.message, values.binary, ctx.stdin);
  if (call.proxy) output.verbose(output.c.dim(`via proxy ${showProxy(call.proxy)} (CONNECT)`));
  if (plan.load) {
    const { runWsLoad } = await import('./load.js');
    return runWsLoad(plan, call, outgoing, ctx, output);
  }
  const transport = new WsTransport();
  const pipeline = new CallPipeline(plan.resilience, ctx.signal, {
    onAttempt(record) {
      const line = formatAttempt(output, record, plan.resilience.retries + 1);
      if (!record.ok && plan.resilience.retries > 0) output.info(line);
      else output.verbose(line);
    },
    onBreakerChange(key, state) {
      output.verbose(output.c.yellow(`breaker ${key}: ${state}`));
    },
  });
  const session = new Session(plan, call, outgoing, ctx, output);
  try {
    return await session.run(pipeline, transport);
  } finally {
    pipeline.close();
    await transport.close();
  }
}

/** One `comms-cli ws` run: connect (through the pipeline), send, receive, close; reconnect with --reconnect. */
class Session {
  readonly #plan: WsPlan;
  readonly #call: WsCall;
  readonly #outgoing: Outgoing[];
  readonly #ctx: CommandContext;
  readonly #out: Output;
  readonly #state: State;
  /** --expect-count / --expect-message, judged as messages arrive; the idle --timeout ends a --expect-count window. */
  readonly #expect: StreamJudge;
  /** When the session began: the --max-time budget counts from here. */
  readonly #started = performance.now();
  /**
   * The start of the attempt that first connected (WsHandshake.startedAt): the origin of the result's
   * timing. `upgrade` is measured from it, so `firstMessage` and `total` must be too (from
   * `#started`, a retried handshake's backoff and failed attempts would count in them but not in upgrade).
   */
  #origin: number | undefined;
  /** stdout writes in arrival order (with backpressure), awaited before the run ends. */
  #writing: Promise<void> = Promise.resolve();

  constructor(plan: WsPlan, call: WsCall, outgoing: Outgoing[], ctx: CommandContext, out: Output) {
    this.#plan = plan;
    this.#call = call;
    this.#outgoing = outgoing;
    this.#ctx = ctx;
    this.#out = out;
    this.#state = {
      received: 0,
      sent: 0,
      sendsDone: outgoing.length === 0 && !plan.values.lines,
      untilMatched: false,
      judgeStop: false,
    };
    this.#expect = new StreamJudge(plan.expect, { count: plan.values.count, timeoutMs: plan.idleMs });
  }

  get #sending(): boolean {
    return this.#outgoing.length > 0 || this.#plan.values.lines;
  }

  async run(pipeline: CallPipeline, transport: WsTransport): Promise<ExitCode> {
    const plan = this.#plan;
    const out = this.#out;
    let reconnects = 0;
    let first: CallOutcome<WsHandshake> | undefined;
    let end: SessionEnd | undefined;
    let failure: CommsError | undefined;
    for (;;) {
      const outcome = await pipeline.run(transport, this.#call);
      first ??= outcome;
      const connection = outcome.reply?.connection;
      this.#origin ??= connection ? outcome.reply?.startedAt : undefined;
      if (!outcome.result.ok || !connection) {
        // The handshake failed (after its retries): report that attempt's result.
        if (reconnects === 0) return this.#finishRefused(outcome);
        failure = commsErrorOf(outcome.result);
        end = { reason: 'error', error: failure };
        break;
      }
      this.#announce(outcome, reconnects);
      end = await this.#session(connection, reconnects === 0);
      const retry =
        plan.values.reconnect && end.reason === 'closed' && end.close?.by === 'server' && !this.#satisfied();
      if (!retry) break;
      reconnects += 1;
      const wait = backoffDelay(reconnects, plan.resilience.backoffMs, plan.resilience.backoffMaxMs);
      out.info(
        out.c.yellow(
          `connection closed (${closeName(end.close?.code ?? 1006)}); reconnecting in ${formatMs(wait)} (reconnect ${reconnects})`,
        ),
      );
      try {
        await sleep(wait, undefined, { signal: this.#ctx.signal });
      } catch {
        end = { reason: 'interrupted' };
        break;
      }
    }
    await this.#writing;
    return this.#finish(first, end, reconnects, failure);
  }

  /** A stdout write in arrival order. */
  #write(fn: () => Promise<void>): void {
    this.#writing = this.#writing.then(fn).catch(() => undefined);
  }

  #announce(outcome: CallOutcome<WsHandshake>, reconnects: number): void {
    const out = this.#out;
    const reply = outcome.reply;
    if (!reply) return;
    const proto = reply.protocol ? out.c.dim(` · subprotocol ${reply.protocol}`) : '';
    const upgrade = outcome.result.timing?.upgrade;
    out.info(
      `${out.c.green(reconnects > 0 ? 'reconnected' : 'connected')} ${out.c.dim(this.#call.target)}${out.c.dim(` · 101${upgrade !== undefined ? ` · ${out.ms(upgrade)}` : ''}`)}${proto}`,
    );
    if (out.options.verbose) {
      for (const [k, v] of Object.entries(out.safe(reply.headers)))
        for (const one of Array.isArray(v) ? v : [v]) out.verbose(out.c.magenta(`< ${k}: ${one}`));
      if (outcome.result.timing)
        out.verbose(out.c.dim(`timing: ${formatTiming(out, outcome.result.timing)}`));
    }
  }

  /** All that was asked for has happened (so a drop needs no reconnect and we may close). */
  #satisfied(): boolean {
    const { values, until } = this.#plan;
    const s = this.#state;
    if (until && s.untilMatched) return true;
    // The judge stops at once on a message too many; when every expectation held, once sends are done.
    if (s.judgeStop && (s.sendsDone || this.#expect.failure() !== undefined)) return true;
    if (values.count !== undefined)
      return s.received >= values.count && (values.interval === undefined || s.sendsDone);
    if (until) return false;
    if (this.#expect.active) return false;
    if (values.listen) return false;
    if (this.#sending) return s.sendsDone && s.received >= s.sent && (!values.ping || s.pingMs !== undefined);
    if (values.ping) return s.pingMs !== undefined;
    return false;
  }

  /** True when the session should end on our side now (never with --expect-close: the server closes). */
  #done(): boolean {
    return this.#plan.expectClose === undefined && this.#satisfied();
  }

  /** One connection: events in, sends out, until done / closed / timeout / Ctrl-C. */
  #session(conn: WsConnection, first: boolean): Promise<SessionEnd> {
    const plan = this.#plan;
    const { values } = plan;
    const out = this.#out;
    const socket = conn.socket;
    const state = this.#state;
    return new Promise<SessionEnd>((resolve) => {
      let ending: StopReason | undefined;
      let error: CommsError | undefined;
      let idle: NodeJS.Timeout | undefined;
      let closeTimer: NodeJS.Timeout | undefined;
      let pingAt: number | undefined;
      const maxTimeLeft =
        plan.resilience.maxTimeMs !== undefined
          ? plan.resilience.maxTimeMs - (performance.now() - this.#started)
          : undefined;
      const maxTimer =
        maxTimeLeft !== undefined ? setTimeout(() => stop('maxtime'), Math.max(0, maxTimeLeft)) : undefined;
      const armIdle = () => {
        if (plan.idleMs === undefined) return;
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => stop('timeout'), plan.idleMs);
      };
      const onInterrupt = () => stop('interrupted');
      const cleanup = () => {
        if (idle) clearTimeout(idle);
        if (maxTimer) clearTimeout(maxTimer);
        if (closeTimer) clearTimeout(closeTimer);
        this.#ctx.signal.removeEventListener('abort', onInterrupt);
      };
      /** Begin our close (clean close handshake, bounded); the 'close' event resolves. */
      const stop = (reason: StopReason) => {
        if (ending !== undefined || conn.closed) return;
        ending = reason;
        if (idle) clearTimeout(idle);
        try {
          socket.close(values.closeCode, plan.closeReason);
        } catch {
          socket.terminate();
        }
        closeTimer = setTimeout(() => socket.terminate(), CLOSE_WAIT_MS);
      };
      const check = () => {
        if (this.#done()) stop('done');
      };
      const onEvent = (e: WsEvent) => {
        switch (e.type) {
          case 'message': {
            armIdle();
            if (ending !== undefined) return;
            state.received += 1;
            state.firstMessageAt ??= e.at - (this.#origin ?? this.#started);
            const frame: ReceivedFrame = {
              n: state.received,
              data: e.data,
              binary: e.binary,
              received: new Date(),
            };
            const text = frameText(frame);
            if (this.#expect.active && this.#expect.seen(text)) state.judgeStop = true;
            if (plan.until?.test(text)) state.untilMatched = true;
            this.#write(() =>
              out.options.json
                ? out.json(messageRecord(frame, this.#call.target))
                : out.data(humanText(out, frame)),
            );
            check();
            return;
          }
          case 'pong':
            armIdle();
            if (pingAt !== undefined && state.pingMs === undefined) {
              state.pingMs = Math.round((e.at - pingAt) * 1000) / 1000;
              out.info(`pong · ${out.ms(state.pingMs)}`);
              check();
            }
            return;
          case 'error':
            error ??= wsError(e.error, this.#call.target);
            return;
          case 'close': {
            cleanup();
            const by: 'server' | 'client' = ending !== undefined ? 'client' : 'server';
            const reason: StopReason = error ? 'error' : (ending ?? 'closed');
            resolve({
              reason,
              close: { code: e.code, reason: e.reason, by },
              ...(error ? { error } : {}),
            });
          }
        }
      };
      if (this.#ctx.signal.aborted) stop('interrupted');
      else this.#ctx.signal.addEventListener('abort', onInterrupt, { once: true });
      armIdle();
      conn.attach(onEvent);
      if (first && values.ping && !conn.closed) {
        pingAt = performance.now();
        socket.ping();
      }
      if (first && this.#sending)
        void this.#send(conn, () => ending !== undefined || conn.closed)
          .catch((err: unknown) => {
            error ??= err instanceof UsageError ? err : wsError(err, this.#call.target);
            stop('error');
          })
          .finally(() => {
            state.sendsDone = true;
            check();
          });
      check();
    });
  }

  /** Send -m messages (once each, or as an --interval stream), then --lines from stdin. */
  async #send(conn: WsConnection, stopped: () => boolean): Promise<void> {
    const { values } = this.#plan;
    const state = this.#state;
    const socket = conn.socket;
    const sendOne = (m: Outgoing) =>
      new Promise<void>((resolve, reject) => {
        const seq = state.sent + 1;
        const payload = payloadOf(m, seq);
        state.sent = seq;
        socket.send(payload, { binary: m.binary }, (err) => (err ? reject(err) : resolve()));
      });
    const items = this.#outgoing;
    if (items.length > 0) {
      const total = values.interval !== undefined ? (values.count ?? Number.POSITIVE_INFINITY) : items.length;
      for (let i = 0; i < total && !stopped(); i++) {
        if (i > 0 && values.interval !== undefined) {
          try {
            await sleep(values.interval, undefined, { signal: this.#ctx.signal });
          } catch {
            return;
          }
          if (stopped()) return;
        }
        await sendOne(items[i % items.length] as Outgoing);
      }
    }
    if (values.lines && !stopped()) {
      const rl = createInterface({ input: this.#ctx.stdin, crlfDelay: Number.POSITIVE_INFINITY });
      try {
        for await (const line of rl) {
          if (stopped()) break;
          if (line === '') continue;
          const m: Outgoing = values.binary
            ? { binary: true, bytes: decodeBase64(line, '--lines') }
            : { binary: false, text: line };
          await sendOne(m);
        }
      } finally {
        rl.close();
      }
    }
  }

  /** The handshake never succeeded: the pipeline's result is the answer. */
  async #finishRefused(outcome: CallOutcome<WsHandshake>): Promise<ExitCode> {
    const out = this.#out;
    const { result } = outcome;
    const record = { type: 'result', ...result, messages: { sent: 0, received: 0 } };
    if (out.options.json) await out.json(record);
    else if (outcome.reply && outcome.reply.status !== 101 && out.options.verbose) {
      for (const [k, v] of Object.entries(out.safe(outcome.reply.headers)))
        for (const one of Array.isArray(v) ? v : [v]) out.verbose(out.c.magenta(`< ${k}: ${one}`));
      if (outcome.reply.body) out.verbose(out.c.magenta(`< ${outcome.reply.body.trim()}`));
    }
    if (result.error) out.error(result.error);
    return result.exit;
  }

  /** Judge the session and print the result line / object. */
  async #finish(
    first: CallOutcome<WsHandshake> | undefined,
    end: SessionEnd | undefined,
    reconnects: number,
    failure: CommsError | undefined,
  ): Promise<ExitCode> {
    const out = this.#out;
    const plan = this.#plan;
    const state = this.#state;
    const error = failure ?? this.#judge(end);
    const exit = error ? exitCodeForKind(error.kind) : ExitCode.ok;
    const elapsed = performance.now() - (this.#origin ?? this.#started);
    const base = first?.result;
    const timing = {
      ...(base?.timing ?? {}),
      ...(state.firstMessageAt !== undefined ? { firstMessage: round(state.firstMessageAt) } : {}),
      total: round(elapsed),
    };
    const record: Record<string, unknown> = {
      type: 'result',
      ...(base ?? { transport: 'ws', target: this.#call.target, operation: 'connect', attempts: [] }),
      ok: exit === ExitCode.ok,
      exit,
      ...(error ? { error: error.toJSON() } : { error: undefined }),
      timing,
      messages: { sent: state.sent, received: state.received },
      ...(end?.close ? { close: end.close } : {}),
      ...(state.pingMs !== undefined ? { ping: { ms: state.pingMs } } : {}),
      ...(plan.values.reconnect ? { reconnects } : {}),
    };
    if (record.error === undefined) delete record.error;
    await this.#writing;
    if (out.options.json) await out.json(record);
    else {
      const close = end?.close
        ? `closed ${closeName(end.close.code)}${end.close.reason ? ` '${end.close.reason}'` : ''} by ${end.close.by}`
        : 'ended';
      const parts = [
        close,
        `${state.sent} sent`,
        `${state.received} received`,
        ...(reconnects > 0 ? [`${reconnects} reconnect${reconnects === 1 ? '' : 's'}`] : []),
        out.ms(elapsed),
      ];
      const colour = exit === ExitCode.ok ? out.c.dim : out.c.red;
      out.info(colour(parts.join(' · ')));
    }
    if (error) out.error(error);
    return exit;
  }

  /** The session's verdict: undefined when everything held. */
  #judge(end: SessionEnd | undefined): CommsError | undefined {
    const plan = this.#plan;
    const { values } = plan;
    const state = this.#state;
    if (!end) return undefined;
    if (end.reason === 'interrupted') return abortReasonToError(this.#ctx.signal.reason);
    if (end.error) return end.error;
    const expected = this.#expect.failure();
    // --expect-count with --timeout: the idle timeout closes the window; exactly N is success.
    if (end.reason === 'timeout' && this.#expect.windowed)
      return expected ? new ExpectationError(`${expected} (${this.#call.target})`) : undefined;
    const waiting = this.#waitingFor();
    if (end.reason === 'maxtime')
      return new TimeoutError(
        `--max-time ${formatMs(plan.resilience.maxTimeMs ?? 0)} passed${waiting ? `: ${waiting}` : ''}`,
      );
    if (end.reason === 'timeout') {
      const needed =
        waiting !== undefined ||
        values.count !== undefined ||
        plan.expectClose !== undefined ||
        state.received === 0;
      if (!needed) return undefined;
      const what =
        plan.expectClose !== undefined && !waiting ? `no close from the server` : (waiting ?? 'no message');
      return new TimeoutError(`idle for ${formatMs(plan.idleMs ?? 0)}: ${what} (${this.#call.target})`);
    }
    const close = end.close;
    if (plan.expectClose !== undefined) {
      if (close?.by !== 'server' || !plan.expectClose.includes(close.code))
        return new ExpectationError(
          `expected the server to close with ${plan.expectClose.join(' or ')}, ${close ? `got ${closeName(close.code)}${close.reason ? ` '${close.reason}'` : ''} by ${close.by}` : 'but it did not close'}`,
        );
      return waiting ? new ExpectationError(`closed as expected, but ${waiting}`) : undefined;
    }
    if (end.reason === 'closed' && close) {
      if (close.code === 1006)
        return new ResponseError(
          `the connection dropped without a close frame (1006 abnormal closure) after ${state.received} message${state.received === 1 ? '' : 's'} (${this.#call.target})`,
          { code: 'COMMS_ERR_WS_ABNORMAL_CLOSURE' },
        );
      if (!isCleanClose(close.code))
        return new ResponseError(
          `the server closed the connection: ${closeName(close.code)}${close.reason ? ` '${close.reason}'` : ''} (${this.#call.target})`,
          {
            code: 'COMMS_ERR_WS_CLOSED',
            hint: 'expect it with --expect-close <code> if it is what should happen',
          },
        );
      if (expected) return new ExpectationError(`${expected} (${this.#call.target})`);
      if (waiting)
        return new ResponseError(
          `the server closed the connection (${closeName(close.code)}) but ${waiting} (${this.#call.target})`,
          { code: 'COMMS_ERR_WS_CLOSED' },
        );
    }
    if ((end.reason === 'done' || end.reason === 'closed') && expected)
      return new ExpectationError(`${expected} (${this.#call.target})`);
    return undefined;
  }

  /** What the session still waited for, in words (undefined: nothing). */
  #waitingFor(): string | undefined {
    const plan = this.#plan;
    const { values } = plan;
    const s = this.#state;
    if (plan.until && !s.untilMatched) return `no message matched --until '${plan.until.spec}'`;
    if (values.count !== undefined && s.received < values.count)
      return `${s.received} of ${values.count} expected message${values.count === 1 ? '' : 's'}`;
    const expected = this.#expect.failure();
    if (expected) return expected;
    if (values.ping && s.pingMs === undefined) return 'no pong to the ping';
    if (
      this.#sending &&
      !values.listen &&
      values.count === undefined &&
      !plan.until &&
      !this.#expect.active &&
      s.received < s.sent
    )
      return `${s.received} repl${s.received === 1 ? 'y' : 'ies'} to ${s.sent} message${s.sent === 1 ? '' : 's'} sent`;
    return undefined;
  }
}

function commsErrorOf(result: Result): CommsError {
  const e = result.error;
  return new CommsError(e?.kind ?? 'response', e?.message ?? 'reconnect failed', {
    ...(e?.code ? { code: e.code } : {}),
    ...(e?.hint ? { hint: e.hint } : {}),
  });
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
