import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createParser, type EventSourceMessage, type ParseError } from 'eventsource-parser';
import { type CallSettings, callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { type StreamExpectations, StreamJudge } from '../../../command/expect-options.js';
import { requestHeaders } from '../../../command/request-headers.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { performance } from '../../../core/clock.js';
import { formatMs } from '../../../core/duration.js';
import { decodeText } from '../../../core/message-data.js';
import { type MessageMatcher, parseMessageMatcher } from '../../../core/message-match.js';
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
import { SseTransport } from '../adapter.js';
import type { SseCall, SseResponse } from '../call.js';
import type { SseValues } from '../flags.js';
import { parseSseUrl } from '../url.js';

/** The `sse` command's plan: everything parsed and checked before anything is sent. */
export interface SsePlan extends CallSettings {
  url: URL;
  values: SseValues;
  idleMs: number | undefined;
  until: MessageMatcher | undefined;
  /** --expect-count, --expect-message and --expect-event (the shared stream expectations). */
  expect: StreamExpectations;
}

export { parseSseUrl };

export function ssePlanFrom(urlText: string, values: SseValues): SsePlan {
  const url = parseSseUrl(urlText);
  if (values.requests !== undefined || values.duration !== undefined || values.rate !== undefined)
    throw new UsageError('sse has no load mode', { hint: 'run several `comms-cli sse` processes instead' });
  for (const name of values.event)
    if (name === '' || /[\r\n]/.test(name)) throw new UsageError(`invalid --event '${name}'`);
  return {
    url,
    values,
    idleMs: values.timeout,
    until: values.until !== undefined ? parseMessageMatcher(values.until, '--until') : undefined,
    expect: {
      count: values.expectCount,
      messages: [
        ...values.expectMessage.map((s) => parseMessageMatcher(s, '--expect-message')),
        ...values.expectEvent.map((s) => parseMessageMatcher(s, '--expect-event')),
      ],
    },
    ...callSettingsFrom({ ...values, timeout: values.connectTimeout }),
  };
}

function buildCall(plan: SsePlan): SseCall {
  const { values } = plan;
  const url = new URL(plan.url);
  const headers = requestHeaders(values.header, values.user, url);
  return {
    target: values.showSecrets ? url.toString() : redactUrl(url.toString()),
    operation: 'GET',
    breakerKey: url.origin,
    url,
    headers,
    ...(values.lastEventId !== undefined ? { lastEventId: values.lastEventId } : {}),
  };
}

type EndReason = 'done' | 'ended' | 'broken' | 'timeout' | 'maxtime' | 'interrupted' | 'no-content';

interface StreamEnd {
  reason: EndReason;
  error?: CommsError;
}

export async function runSse(plan: SsePlan, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const call = buildCall(plan);
  const transport = new SseTransport({ tls: tlsFrom(plan.values) });
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
  try {
    return await new EventStream(plan, call, ctx, output).run(pipeline, transport);
  } finally {
    pipeline.close();
    await transport.close();
  }
}

/** One `comms-cli sse` run: GET, read events, reconnect as EventSource does (with --reconnect). */
class EventStream {
  readonly #plan: SsePlan;
  readonly #call: SseCall;
  readonly #ctx: CommandContext;
  readonly #out: Output;
  /** When the run began: the --max-time budget counts from here. */
  readonly #started = performance.now();
  /**
   * The start of the attempt that first got an answer (SseResponse.startedAt): the origin of the
   * result's timing. `firstByte` is measured from it, so `firstEvent` and `total` must be too (from
   * `#started`, a retried GET's backoff and failed attempts would count in them but not in firstByte).
   */
  #origin: number | undefined;
  #n = 0;
  #lastEventId: string | undefined;
  #retryMs: number | undefined;
  #firstEventAt: number | undefined;
  #untilMatched = false;
  /** --expect-count / --expect-message / --expect-event, judged as events arrive. */
  readonly #expect: StreamJudge;
  /** The judge said the stream should stop (every expectation held, N events, or one too many). */
  #judgeStop = false;
  #warnings = 0;
  #writing: Promise<void> = Promise.resolve();

  constructor(plan: SsePlan, call: SseCall, ctx: CommandContext, out: Output) {
    this.#plan = plan;
    this.#call = call;
    this.#ctx = ctx;
    this.#out = out;
    this.#lastEventId = call.lastEventId;
    this.#expect = new StreamJudge(plan.expect, { count: plan.values.count, timeoutMs: plan.idleMs });
  }

  async run(pipeline: CallPipeline, transport: SseTransport): Promise<ExitCode> {
    const plan = this.#plan;
    const out = this.#out;
    let first: CallOutcome<SseResponse> | undefined;
    let end: StreamEnd | undefined;
    let reconnects = 0;
    for (;;) {
      const call: SseCall = {
        ...this.#call,
        ...(this.#lastEventId !== undefined ? { lastEventId: this.#lastEventId } : {}),
      };
      const outcome = await pipeline.run(transport, call);
      first ??= outcome;
      if (!outcome.result.ok) {
        if (reconnects === 0) return this.#finishRefused(outcome);
        const e = outcome.result.error;
        end = {
          reason: 'broken',
          error: new CommsError(e?.kind ?? 'response', `reconnect failed: ${e?.message ?? 'unknown error'}`, {
            ...(e?.code ? { code: e.code } : {}),
          }),
        };
        break;
      }
      const reply = outcome.reply;
      this.#origin ??= reply?.startedAt;
      if (!reply?.stream) {
        end = { reason: 'no-content' };
        break;
      }
      this.#announce(outcome, reconnects);
      end = await this.#consume(reply.stream);
      const again =
        plan.values.reconnect && (end.reason === 'ended' || end.reason === 'broken') && !this.#satisfied();
      if (!again) break;
      reconnects += 1;
      const wait =
        this.#retryMs ?? backoffDelay(reconnects, plan.resilience.backoffMs, plan.resilience.backoffMaxMs);
      out.info(
        out.c.yellow(
          `stream ${end.reason === 'broken' ? 'broke off' : 'ended'}; reconnecting in ${formatMs(wait)}${this.#lastEventId !== undefined ? ` after id ${this.#lastEventId}` : ''} (reconnect ${reconnects})`,
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
    return this.#finish(first, end, reconnects);
  }

  #announce(outcome: CallOutcome<SseResponse>, reconnects: number): void {
    const out = this.#out;
    const firstByte = outcome.result.timing?.firstByte;
    out.info(
      `${out.c.green(reconnects > 0 ? 'reconnected' : 'connected')} ${out.c.dim(this.#call.target)}${out.c.dim(` · ${outcome.reply?.status ?? ''}${firstByte !== undefined ? ` · ${out.ms(firstByte)}` : ''}`)}`,
    );
    if (out.options.verbose && outcome.reply) {
      for (const [k, v] of Object.entries(out.safe(outcome.reply.headers)))
        for (const one of Array.isArray(v) ? v : [v]) out.verbose(out.c.magenta(`< ${k}: ${one}`));
      if (outcome.result.timing)
        out.verbose(out.c.dim(`timing: ${formatTiming(out, outcome.result.timing)}`));
    }
  }

  #satisfied(): boolean {
    const { values, until } = this.#plan;
    if (until && this.#untilMatched) return true;
    if (this.#judgeStop) return true;
    if (values.count !== undefined) return this.#n >= values.count;
    return false;
  }

  /** Read one response's events until it ends, we are done, idle --timeout, --max-time or Ctrl-C. */
  #consume(stream: Readable): Promise<StreamEnd> {
    const plan = this.#plan;
    const out = this.#out;
    return new Promise<StreamEnd>((resolve) => {
      let finished = false;
      let idle: NodeJS.Timeout | undefined;
      const maxLeft =
        plan.resilience.maxTimeMs !== undefined
          ? plan.resilience.maxTimeMs - (performance.now() - this.#started)
          : undefined;
      const maxTimer =
        maxLeft !== undefined
          ? setTimeout(() => stop({ reason: 'maxtime' }), Math.max(0, maxLeft))
          : undefined;
      const armIdle = () => {
        if (plan.idleMs === undefined) return;
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => stop({ reason: 'timeout' }), plan.idleMs);
      };
      const onInterrupt = () => stop({ reason: 'interrupted' });
      const stop = (end: StreamEnd) => {
        if (finished) return;
        finished = true;
        if (idle) clearTimeout(idle);
        if (maxTimer) clearTimeout(maxTimer);
        this.#ctx.signal.removeEventListener('abort', onInterrupt);
        stream.off('data', onData);
        stream.destroy();
        resolve(end);
      };
      const parser = createParser({
        onEvent: (e: EventSourceMessage) => {
          if (finished) return;
          this.#onEvent(e);
          if (this.#satisfied()) stop({ reason: 'done' });
        },
        onRetry: (ms: number) => {
          this.#retryMs = ms;
          out.verbose(out.c.dim(`retry: ${ms}ms`));
        },
        onError: (err: ParseError) => {
          this.#warnings += 1;
          out.info(
            out.c.yellow(
              `warning: malformed event stream line ignored (${err.type}): ${JSON.stringify(err.line ?? err.message)}`,
            ),
          );
        },
      });
      const decoder = new TextDecoder('utf-8');
      const onData = (chunk: Buffer) => {
        armIdle();
        parser.feed(decoder.decode(chunk, { stream: true }));
      };
      stream.on('data', onData);
      stream.once('end', () => stop({ reason: 'ended' }));
      stream.once('error', (err: Error) =>
        stop({
          reason: 'broken',
          error: new ResponseError(`the event stream broke off (${this.#call.target}): ${err.message}`, {
            cause: err,
            code: 'COMMS_ERR_SSE_BROKEN',
          }),
        }),
      );
      if (this.#ctx.signal.aborted) stop({ reason: 'interrupted' });
      else this.#ctx.signal.addEventListener('abort', onInterrupt, { once: true });
      armIdle();
    });
  }

  #onEvent(e: EventSourceMessage): void {
    const out = this.#out;
    const plan = this.#plan;
    if (e.id !== undefined) this.#lastEventId = e.id;
    const type = e.event ?? 'message';
    if (plan.values.event.length > 0 && !plan.values.event.includes(type)) return;
    this.#n += 1;
    this.#firstEventAt ??= performance.now() - (this.#origin ?? this.#started);
    if (this.#expect.active && this.#expect.seen(e.data)) this.#judgeStop = true;
    if (plan.until?.test(e.data)) this.#untilMatched = true;
    const n = this.#n;
    const { data, encoding } = decodeText(e.data);
    const record = {
      type: 'message',
      transport: 'sse',
      n,
      url: this.#call.target,
      event: type,
      ...(e.id !== undefined ? { id: e.id } : {}),
      // An event has no headers of its own (the response's are on the result): the contract's field, empty.
      headers: {},
      data,
      encoding,
      size: Buffer.byteLength(e.data),
      received: new Date().toISOString(),
      ...(this.#retryMs !== undefined ? { retry: this.#retryMs } : {}),
    };
    out.verbose(out.c.dim(`[#${n}] event: ${type}${e.id !== undefined ? ` · id: ${e.id}` : ''}`));
    this.#writing = this.#writing
      .then(() => (out.options.json ? out.json(record) : out.data(`${e.data}\n`)))
      .catch(() => undefined);
  }

  async #finishRefused(outcome: CallOutcome<SseResponse>): Promise<ExitCode> {
    const out = this.#out;
    const { result } = outcome;
    if (out.options.json) await out.json({ type: 'result', ...result, events: 0 });
    else if (outcome.reply?.body && out.options.verbose)
      out.verbose(out.c.magenta(`< ${outcome.reply.body.trim()}`));
    if (result.error) out.error(result.error);
    return result.exit;
  }

  async #finish(
    first: CallOutcome<SseResponse> | undefined,
    end: StreamEnd | undefined,
    reconnects: number,
  ): Promise<ExitCode> {
    const out = this.#out;
    const error = this.#judge(end);
    const exit = error ? exitCodeForKind(error.kind) : ExitCode.ok;
    const elapsed = performance.now() - (this.#origin ?? this.#started);
    const base = first?.result;
    const record: Record<string, unknown> = {
      type: 'result',
      ...(base ?? { transport: 'sse', target: this.#call.target, operation: 'GET', attempts: [] }),
      ok: exit === ExitCode.ok,
      exit,
      timing: {
        ...(base?.timing ?? {}),
        ...(this.#firstEventAt !== undefined ? { firstEvent: round(this.#firstEventAt) } : {}),
        total: round(elapsed),
      },
      events: this.#n,
      ...(this.#lastEventId !== undefined ? { lastEventId: this.#lastEventId } : {}),
      ...(this.#retryMs !== undefined ? { retry: this.#retryMs } : {}),
      ...(this.#plan.values.reconnect ? { reconnects } : {}),
      ...(this.#warnings > 0 ? { warnings: this.#warnings } : {}),
    };
    if (error) record.error = error.toJSON();
    else delete record.error;
    if (out.options.json) await out.json(record);
    else {
      const how =
        end?.reason === 'no-content'
          ? 'server answered 204 (no more events)'
          : end?.reason === 'ended'
            ? 'stream ended'
            : 'closed';
      const parts = [
        how,
        `${this.#n} event${this.#n === 1 ? '' : 's'}`,
        ...(this.#firstEventAt !== undefined ? [`first event ${out.ms(this.#firstEventAt)}`] : []),
        ...(reconnects > 0 ? [`${reconnects} reconnect${reconnects === 1 ? '' : 's'}`] : []),
        out.ms(elapsed),
      ];
      out.info((exit === ExitCode.ok ? out.c.dim : out.c.red)(parts.join(' · ')));
    }
    if (error) out.error(error);
    return exit;
  }

  #waitingFor(): string | undefined {
    const plan = this.#plan;
    if (plan.until && !this.#untilMatched) return `no event matched --until '${plan.until.spec}'`;
    if (plan.values.count !== undefined && this.#n < plan.values.count)
      return `${this.#n} of ${plan.values.count} expected event${plan.values.count === 1 ? '' : 's'}`;
    return this.#expect.failure();
  }

  #judge(end: StreamEnd | undefined): CommsError | undefined {
    if (!end) return undefined;
    const plan = this.#plan;
    if (end.reason === 'interrupted') return abortReasonToError(this.#ctx.signal.reason);
    // --expect-count with --timeout: the idle timeout closes the window; exactly N is success.
    if (end.reason === 'timeout' && this.#expect.windowed) {
      const expected = this.#expect.failure();
      return expected ? new ExpectationError(`${expected} (${this.#call.target})`) : undefined;
    }
    // The judge stopped the stream on one event too many: that is the failure, whatever else waited.
    const expected = this.#expect.failure();
    if (this.#judgeStop && expected && end.reason === 'done')
      return new ExpectationError(`${expected} (${this.#call.target})`);
    const waiting = this.#waitingFor();
    if (end.reason === 'maxtime')
      return new TimeoutError(
        `--max-time ${formatMs(plan.resilience.maxTimeMs ?? 0)} passed${waiting ? `: ${waiting}` : ''}`,
      );
    if (end.reason === 'timeout') {
      if (!waiting && plan.values.count === undefined && this.#n > 0) return undefined;
      return new TimeoutError(
        `idle for ${formatMs(plan.idleMs ?? 0)}: ${waiting ?? 'no event'} (${this.#call.target})`,
      );
    }
    if (end.error) return end.error;
    if (!waiting) return undefined;
    // What is missing is an expectation (not --count/--until): the failed expectation is the error.
    if (waiting === expected) return new ExpectationError(`${waiting} (${this.#call.target})`);
    if (end.reason === 'no-content')
      return new ResponseError(`the server answered 204 (no more events), but ${waiting}`);
    if (end.reason === 'ended')
      return new ResponseError(`the event stream ended, but ${waiting} (${this.#call.target})`, {
        hint: 'use --reconnect to resume after the last event id',
      });
    return new ExpectationError(`${waiting} (${this.#call.target})`);
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
