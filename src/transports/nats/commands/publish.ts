import { randomUUID } from 'node:crypto';
import { type CallSettings, callSettingsFrom } from '../../../command/call-options.js';
import type { CommandContext } from '../../../command/context.js';
import { runCallCommand } from '../../../command/run-call-command.js';
import { withTraceparent } from '../../../command/trace.js';
import { performance } from '../../../core/clock.js';
import { readPayload, stdinLines } from '../../../core/input.js';
import type { Result } from '../../../core/result.js';
import { CallPipeline } from '../../../core/run-call.js';
import { expandTemplate, hasTemplate } from '../../../core/template.js';
import { UsageError } from '../../../errors/comms-error.js';
import { type ExitCode, worstExitCode } from '../../../errors/exit-codes.js';
import { formatAttempt, reportResult } from '../../../output/human.js';
import { Output } from '../../../output/output.js';
import { checkSize, NatsTransport } from '../adapter.js';
import type { NatsCall, NatsReply, OutgoingMessage } from '../call.js';
import { type NatsConnectOptions, natsConnectOptionsFrom } from '../connection-options.js';
import type { PublishValues } from '../flags.js';
import { parseHeaders } from '../headers.js';
import { ensureStream, validateStreamName } from '../jetstream.js';
import { subjectFilterFor, validateSubject } from '../subject.js';

/** `nats publish`, parsed and checked once: nothing below reads an option again. */
export interface PublishPlan extends CallSettings {
  subject: string;
  /** The payload argument or -d (text, @file, @-), read when the command runs. */
  payload: { spec: string; flag: string; raw?: boolean } | undefined;
  /** Messages per run (--count); a --lines run sends one per stdin line instead. */
  count: number;
  lines: boolean;
  headers: Array<readonly [string, string]>;
  replyTo: string | undefined;
  /** Present: publish to JetStream and wait for each acknowledgement. */
  jetstream:
    | { stream: string | undefined; msgId: string | undefined; expectStream: string | undefined }
    | undefined;
  /** More than one message goes out (--count, --lines, load mode beyond one call). */
  many: boolean;
  connect: NatsConnectOptions;
}

/**
 * Check and settle everything before anything is read or sent (exit 2 on bad input).
 * `timeoutGiven`: whether --timeout was given; a core --lines stream lasts as long as stdin does, so
 * it has no per-attempt timeout unless one is asked for.
 */
export function publishPlanFrom(
  subject: string,
  payloadArg: string | undefined,
  values: PublishValues,
  { timeoutGiven = true }: { timeoutGiven?: boolean } = {},
): PublishPlan {
  validateSubject(expandTemplate(subject, 1), { wildcards: false });
  const settings = callSettingsFrom(values);
  if (values.lines && !values.jetstream && !timeoutGiven)
    settings.resilience = { ...settings.resilience, timeoutMs: Number.POSITIVE_INFINITY };
  const connect = natsConnectOptionsFrom(values);
  const headers = parseHeaders(withTraceparent(values.header, values.traceparent));
  if (!values.jetstream) {
    for (const [flag, value] of [
      ['--stream', values.stream],
      ['--msg-id', values.msgId],
      ['--expect-stream', values.expectStream],
    ] as const) {
      if (value !== undefined) throw new UsageError(`${flag} needs --jetstream`);
    }
  }
  if (values.jetstream && values.replyTo)
    throw new UsageError('--reply-to cannot be used with --jetstream (the reply subject carries the ack)');
  if (values.replyTo) validateSubject(values.replyTo, { wildcards: false, flag: '--reply-to' });
  if (values.stream) validateStreamName(values.stream, '--stream');
  if (values.expectStream) validateStreamName(values.expectStream, '--expect-stream');
  const load = settings.load !== undefined;
  if (load && (values.count > 1 || values.lines))
    throw new UsageError('--count and --lines cannot be combined with load mode (-n/--duration/--rate)');
  if (
    values.lines &&
    (payloadArg !== undefined || values.data !== undefined || values.dataRaw !== undefined)
  ) {
    throw new UsageError(
      '--lines reads the payloads from stdin: drop the payload argument and -d/--data-raw',
    );
  }
  if (payloadArg !== undefined && values.data !== undefined)
    throw new UsageError('give the payload either as an argument or with -d, not both');
  if (values.dataRaw !== undefined && (payloadArg !== undefined || values.data !== undefined))
    throw new UsageError('give the payload once: --data-raw, -d or the payload argument');
  const spec = values.dataRaw ?? values.data ?? payloadArg;
  return {
    subject,
    payload:
      spec === undefined
        ? undefined
        : values.dataRaw !== undefined
          ? { spec, flag: '--data-raw', raw: true }
          : { spec, flag: values.data !== undefined ? '-d' : 'payload' },
    count: values.count,
    lines: values.lines,
    headers,
    replyTo: values.replyTo,
    jetstream: values.jetstream
      ? { stream: values.stream, msgId: values.msgId, expectStream: values.expectStream }
      : undefined,
    many: values.count > 1 || values.lines || (load && values.requests !== 1),
    ...settings,
    connect,
  };
}

/**
 * `comms-cli nats publish`. Core publishes are one call per run (a batch of 1, --count N, or stdin
 * --lines) ending in a flush; JetStream publishes are one call per message, each waiting for its ack
 * and retried through the shared pipeline with the same Nats-Msg-Id.
 */
export async function runPublish(plan: PublishPlan, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const { subject: subjectTemplate, count, resilience, replyTo, jetstream } = plan;
  const headerTemplates = plan.headers;
  const msgIdSpec = jetstream?.msgId;
  if (jetstream && plan.many && msgIdSpec !== undefined && msgIdSpec !== 'auto' && !hasTemplate(msgIdSpec)) {
    // Legal (a dedup test may want it), but usually a mistake: say so even with --json (stderr).
    if (!output.options.quiet)
      output.err.write(
        `${output.c.yellow('warning:')} every message carries --msg-id '${msgIdSpec}': the stream stores the first and drops the others as duplicates (use {{seq}} in it, or --msg-id auto)\n`,
      );
  }
  const payload =
    plan.payload === undefined
      ? Buffer.alloc(0)
      : plan.payload.raw
        ? Buffer.from(plan.payload.spec)
        : await readPayload(plan.payload.spec, plan.payload.flag, ctx.stdin);
  const payloadText = hasTemplate(payload.toString('utf8')) ? payload.toString('utf8') : undefined;

  const templated =
    hasTemplate(subjectTemplate) ||
    payloadText !== undefined ||
    headerTemplates.some(([k, v]) => hasTemplate(k) || hasTemplate(v));
  const fixed: OutgoingMessage = {
    subject: subjectTemplate,
    data: payload,
    ...(headerTemplates.length ? { headers: headerTemplates } : {}),
    ...(replyTo ? { replyTo: replyTo } : {}),
  };
  const messageFor = (seq: number, data?: Uint8Array): OutgoingMessage => {
    if (!templated && data === undefined) return fixed;
    const now = new Date();
    const subject = expandTemplate(subjectTemplate, seq, now);
    if (subject !== subjectTemplate) validateSubject(subject, { wildcards: false });
    return {
      subject,
      data:
        data ?? (payloadText !== undefined ? Buffer.from(expandTemplate(payloadText, seq, now)) : payload),
      ...(headerTemplates.length
        ? {
            headers: headerTemplates.map(
              ([k, v]) => [expandTemplate(k, seq, now), expandTemplate(v, seq, now)] as const,
            ),
          }
        : {}),
      ...(replyTo ? { replyTo: expandTemplate(replyTo, seq, now) } : {}),
    };
  };

  const transport = new NatsTransport(plan.connect, resilience.timeoutMs, async (nc) => {
    if (jetstream?.stream) {
      // A message the server would refuse must not leave a new stream behind: check it first.
      if (!plan.lines) checkSize(nc, messageFor(1));
      await ensureStream(nc, jetstream.stream, subjectFilterFor(subjectTemplate), output);
    }
  });
  const target = subjectTemplate;

  if (!jetstream) {
    const lines = plan.lines ? stdinLines(ctx.stdin, ctx.signal) : undefined;
    const batch = (): NatsCall => ({
      target,
      operation: 'publish',
      op: 'publish',
      messages: lines
        ? () => mapAsync(lines, (line, seq) => messageFor(seq, Buffer.from(line)))
        : () => range(count, (seq) => messageFor(seq)),
      ...(!lines && !templated ? { repeat: { message: fixed, count } } : {}),
    });
    return runCallCommand<NatsCall, NatsReply>({
      transport,
      call: batch(),
      makeCall: (seq) => ({ target, operation: 'publish', op: 'publish', messages: () => [messageFor(seq)] }),
      resilience,
      output,
      load: plan.load,
      signal: ctx.signal,
      replyBytes: (r) => (r.op === 'publish' ? r.bytes : 0),
      async renderHuman({ result, reply }) {
        const n = reply?.op === 'publish' ? reply.count : 0;
        const total = result.timing?.total;
        // -q prints no status line: skip the number formatting (its first use loads ICU data).
        const rate =
          total && n > 1 && !output.options.quiet
            ? output.c.dim(` · ${Math.round((n / total) * 1000).toLocaleString('en-US')} msgs/s`)
            : '';
        if (result.ok)
          reportResult(output, result, `published ${n} message${n === 1 ? '' : 's'} to ${target}${rate}`);
        else if (reply?.op === 'publish')
          // Stopped early (Ctrl-C, --timeout): say what did go out; the error line says why it stopped.
          reportResult(
            output,
            result,
            `published ${n} message${n === 1 ? '' : 's'} to ${target}, then stopped`,
          );
        else reportResult(output, result, `publish to ${target} failed`);
      },
    });
  }

  let seq = 0;
  const msgIdFor = (s: number): string | undefined =>
    msgIdSpec === undefined ? undefined : msgIdSpec === 'auto' ? randomUUID() : expandTemplate(msgIdSpec, s);
  const jsCall = (message: OutgoingMessage, s: number): NatsCall => {
    const msgId = msgIdFor(s);
    return {
      target: message.subject,
      operation: 'publish',
      op: 'js-publish',
      message,
      ...(msgId ? { msgId } : {}),
      ...(jetstream?.expectStream ? { expectStream: jetstream.expectStream } : {}),
    };
  };
  const renderAck = async (result: Result, reply: NatsReply | undefined) => {
    if (reply?.op === 'js-publish') {
      await output.data(`stream ${reply.stream} seq ${reply.seq}${reply.duplicate ? ' duplicate' : ''}\n`);
    }
    reportResult(
      output,
      result,
      result.ok
        ? reply?.op === 'js-publish' && reply.duplicate
          ? 'duplicate (already stored)'
          : 'stored'
        : 'not stored',
    );
  };

  if (count === 1 && !plan.lines) {
    return runCallCommand<NatsCall, NatsReply>({
      transport,
      call: jsCall(messageFor(1), 1),
      makeCall: (s) => jsCall(messageFor(s), s),
      resilience,
      output,
      load: plan.load,
      signal: ctx.signal,
      renderHuman: ({ result, reply }) => renderAck(result, reply),
    });
  }

  // Many JetStream messages: one pipeline (one breaker) for all, one result per message, stop at the first failure.
  const pipeline = new CallPipeline(resilience, ctx.signal, {
    onAttempt(record) {
      if (!record.ok && resilience.retries > 0)
        output.info(formatAttempt(output, record, resilience.retries + 1));
      else output.verbose(formatAttempt(output, record, resilience.retries + 1));
    },
  });
  const exits: ExitCode[] = [];
  const started = performance.now();
  try {
    const source: AsyncIterable<OutgoingMessage> | Iterable<OutgoingMessage> = plan.lines
      ? mapAsync(stdinLines(ctx.stdin, ctx.signal), (line, s) => messageFor(s, Buffer.from(line)))
      : range(count, (s) => messageFor(s));
    for await (const message of source) {
      if (ctx.signal.aborted) break;
      seq += 1;
      const { result, reply } = await pipeline.run(transport, jsCall(message, seq));
      if (output.options.json) await output.json(result);
      else if (reply?.op === 'js-publish')
        await output.data(`stream ${reply.stream} seq ${reply.seq}${reply.duplicate ? ' duplicate' : ''}\n`);
      exits.push(result.exit);
      if (!result.ok) {
        if (result.error) output.error(result.error);
        break;
      }
    }
  } finally {
    await pipeline.close();
    await transport.close();
  }
  const ms = performance.now() - started;
  const exit = ctx.signal.aborted ? 130 : worstExitCode(exits);
  // Out of what was asked for (--count), not out of what was tried: "stored 0 of 3 messages, stopped at #1".
  const stored = exits.filter((e) => e === 0).length;
  const planned = plan.lines ? seq : count;
  const tail = exit === 0 ? '' : seq > 0 ? `, stopped at #${seq}` : ', stopped';
  output.info(
    `${exit === 0 ? output.c.green('stored') : output.c.red('stored')} ${stored} of ${planned} message${planned === 1 ? '' : 's'}${tail}${output.c.dim(` · ${output.ms(ms)}`)}`,
  );
  return exit as ExitCode;
}

function* range<T>(n: number, f: (seq: number) => T): Iterable<T> {
  for (let i = 1; i <= n; i++) yield f(i);
}

async function* mapAsync<T, U>(src: AsyncIterable<T>, f: (v: T, seq: number) => U): AsyncIterable<U> {
  let seq = 0;
  for await (const v of src) {
    seq += 1;
    yield f(v, seq);
  }
}
