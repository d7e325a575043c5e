import { setTimeout as sleep } from 'node:timers/promises';
import type { Msg, MsgHdrs } from '@nats-io/transport-node';
import type { CommandContext } from '../../../command/context.js';
import { runExec } from '../../../command/exec.js';
import { outputFrom } from '../../../command/shared-options.js';
import { readPayload } from '../../../core/input.js';
import { UsageError } from '../../../errors/comms-error.js';
import { ExitCode } from '../../../errors/exit-codes.js';
import { Output, type OutputOptions } from '../../../output/output.js';
import { SERVICE_ERROR_CODE_HEADER, SERVICE_ERROR_HEADER } from '../classify.js';
import { closeNats, connectNats } from '../connection.js';
import { describeServers, type NatsConnectOptions, natsConnectOptionsFrom } from '../connection-options.js';
import { DEFAULT_EXEC_TIMEOUT_MS, type ReplyValues } from '../flags.js';
import { mergeHeaders, parseHeaders, toHeaders } from '../headers.js';
import { boundedHeaders, writeMessage } from '../message.js';
import { validateQueue, validateSubject } from '../subject.js';

/** `nats reply`, parsed and checked once: nothing below reads an option again. */
export interface ReplyPlan {
  subject: string;
  queue: string | undefined;
  /** Exit 0 after answering this many requests. */
  count: number | undefined;
  /** What answers: the request echoed, a fixed --body (read when the command runs), or --exec. */
  answer:
    | { mode: 'echo' }
    | { mode: 'body'; spec: string }
    | { mode: 'exec'; command: string; timeoutMs: number };
  headers: Array<readonly [string, string]>;
  delayMs: number;
  failFirst: number;
  /** Fraction 0..1 of requests dropped at random. */
  failRate: number;
  raw: boolean;
  output: OutputOptions;
  connect: NatsConnectOptions;
}

export function replyPlanFrom(subject: string, values: ReplyValues): ReplyPlan {
  validateSubject(subject, { wildcards: true });
  if (values.queue !== undefined) validateQueue(values.queue);
  if (values.execTimeout !== undefined && values.exec === undefined)
    throw new UsageError('--exec-timeout needs --exec');
  if (values.body !== undefined && values.exec !== undefined)
    throw new UsageError('--body and --exec are alternatives: give one');
  if (values.exec !== undefined && values.exec.trim() === '') throw new UsageError('empty --exec command');
  return {
    subject,
    queue: values.queue,
    count: values.count,
    answer:
      values.exec !== undefined
        ? { mode: 'exec', command: values.exec, timeoutMs: values.execTimeout ?? DEFAULT_EXEC_TIMEOUT_MS }
        : values.body !== undefined
          ? { mode: 'body', spec: values.body }
          : { mode: 'echo' },
    headers: parseHeaders(values.header),
    delayMs: values.delay ?? 0,
    failFirst: values.failFirst ?? 0,
    failRate: values.failRate ?? 0,
    raw: values.raw,
    output: outputFrom(values),
    connect: natsConnectOptionsFrom(values, { reconnect: 'forever' }),
  };
}

interface Answer {
  data: Uint8Array;
  headers?: MsgHdrs;
}

/**
 * `comms-cli nats reply`: a responder for testing. Each request is printed on stdout like a
 * subscribed message and answered (echo, --body, or --exec), after --delay, unless fault injection
 * (--fail-first, --fail-rate) drops it, so a requester's retries and breaker can be watched.
 * Requests are handled concurrently (a --delay does not serialise them); output stays in order.
 */
export async function runReply(plan: ReplyPlan, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const { subject, queue, count, failFirst, failRate, delayMs, connect } = plan;
  const exec = plan.answer.mode === 'exec' ? plan.answer : undefined;
  const body =
    plan.answer.mode === 'body' ? await readPayload(plan.answer.spec, '--body', ctx.stdin) : undefined;
  const replyHeaders = plan.headers;

  const nc = await connectNats(connect, output, { announceReconnects: true });
  const sub = nc.subscribe(subject, queue ? { queue } : {});
  await nc.flush();
  const mode = exec ? `exec '${exec.command}'` : body !== undefined ? 'fixed body' : 'echo';
  output.info(
    output.c.dim(
      `replying on '${subject}'${queue ? ` (queue ${queue})` : ''} at ${describeServers(connect.servers)}: ${mode}` +
        `${delayMs ? `, delay ${output.ms(delayMs)}` : ''}${failFirst ? `, dropping the first ${failFirst}` : ''}${failRate ? `, dropping ${Math.round(failRate * 100)}%` : ''}`,
    ),
  );

  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    void sub.drain().catch(() => undefined);
  };
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });

  let n = 0;
  let answered = 0;
  let dropped = 0;
  /** Requests being or already answered (answers are concurrent: counted when decided). */
  let toAnswer = 0;
  let writes: Promise<void> = Promise.resolve();
  const inflight = new Set<Promise<void>>();

  const answer = async (m: Msg): Promise<Answer | undefined> => {
    if (exec)
      return execAnswer(exec.command, m, {
        timeoutMs: exec.timeoutMs,
        signal: ctx.signal,
        subscription: subject,
      });
    if (body !== undefined) return { data: body };
    const { headers } = boundedHeaders(m);
    return { data: m.data, ...(headers ? { headers } : {}) };
  };

  /** Whether request `seq` is answered: it has a reply subject and fault injection spares it. */
  const decide = (m: Msg, seq: number): 'answer' | 'drop' | 'no-reply' => {
    if (!m.reply) return 'no-reply';
    return seq <= failFirst || (failRate > 0 && Math.random() < failRate) ? 'drop' : 'answer';
  };

  const handle = async (m: Msg, seq: number, fate: 'answer' | 'drop' | 'no-reply'): Promise<void> => {
    if (fate === 'no-reply') {
      output.verbose(output.c.yellow(`#${seq}: no reply subject (a publish, not a request): not answered`));
      return;
    }
    if (fate === 'drop') {
      dropped += 1;
      output.info(output.c.yellow(`#${seq}: dropped (fault injection): no reply`));
      return;
    }
    if (delayMs > 0) await sleep(delayMs);
    const a = await answer(m);
    if (a === undefined) {
      output.verbose(output.c.yellow(`#${seq}: interrupted: not answered`));
      return;
    }
    const headers = replyHeaders.length ? mergeHeaders(a.headers, replyHeaders) : a.headers;
    m.respond(a.data, headers ? { headers } : undefined);
    answered += 1;
    output.verbose(output.c.dim(`#${seq}: replied ${a.data.byteLength} bytes`));
  };

  try {
    for await (const m of sub) {
      n += 1;
      const seq = n;
      // A header block over the bound is neither decoded, printed nor echoed (see MAX_HEADER_BLOCK).
      const { headers, dropped: headersDropped } = boundedHeaders(m);
      const received = {
        subject: m.subject,
        reply: m.reply,
        headers,
        ...(headersDropped !== undefined ? { headersDropped } : {}),
        data: m.data,
      };
      writes = writes.then(() => writeMessage(output, received, seq, { raw: plan.raw }));
      const fate = decide(m, seq);
      if (fate === 'answer') toAnswer += 1;
      const task = handle(m, seq, fate).catch((err: unknown) =>
        output.error({ message: `#${seq}: ${(err as Error).message}` }),
      );
      inflight.add(task);
      void task.finally(() => inflight.delete(task));
      // --count counts answers: dropped requests and plain publishes do not use it up.
      if (count !== undefined && toAnswer >= count) break;
    }
    await Promise.all(inflight);
    await writes;
  } finally {
    ctx.signal.removeEventListener('abort', onInterrupt);
    await closeNats(nc);
  }
  if (!output.options.quiet) {
    output.err.write(
      `${output.c.dim(`${subject}: ${n} request${n === 1 ? '' : 's'}, ${answered} answered, ${dropped} dropped`)}\n`,
    );
  }
  return interrupted ? ExitCode.interrupted : ExitCode.ok;
}

/** How a `--exec` command runs: killed at `timeoutMs`, or at once when `signal` aborts (Ctrl-C). */
interface ExecLimits {
  timeoutMs: number;
  signal: AbortSignal;
  /** The subscription's subject (may hold wildcards). */
  subscription: string;
}

/**
 * `--exec CMD` through the shared runner (src/command/exec.ts): the request payload on the command's
 * stdin, its stdout is the reply. A failing command answers with the micro-services error headers,
 * so the requester exits 1 (not a timeout): 500 when it exits non-zero, 504 when it outlives
 * --exec-timeout (it is killed). On Ctrl-C the request is not answered (undefined).
 */
async function execAnswer(command: string, m: Msg, limits: ExecLimits): Promise<Answer | undefined> {
  const outcome = await runExec(command, m.data, {
    timeoutMs: limits.timeoutMs,
    signal: limits.signal,
    env: {
      NATS_SUBJECT: m.subject,
      NATS_SUBSCRIPTION: limits.subscription,
      NATS_REPLY_SUBJECT: m.reply ?? '',
    },
  });
  if (outcome === undefined) return undefined;
  if (outcome.ok) return { data: outcome.data };
  return {
    data: outcome.data,
    headers: toHeaders([
      [SERVICE_ERROR_CODE_HEADER, outcome.timedOut ? '504' : '500'],
      [SERVICE_ERROR_HEADER, outcome.why],
    ]),
  };
}
