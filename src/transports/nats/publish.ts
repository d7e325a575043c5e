import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import type { PublishFlags } from '../../cli/commands/nats.js';
import {
  isLoadMode,
  type LoadFlags,
  legacyLoadPlan,
  type OutputFlags,
  outputFrom,
  parseCount,
  type ResilienceFlags,
  resilienceFrom,
} from '../../cli/options.js';
import type { CommandContext } from '../../command/context.js';
import { runCallCommand } from '../../command/run-call-command.js';
import { readPayload } from '../../core/input.js';
import type { Result } from '../../core/result.js';
import { CallPipeline } from '../../core/run-call.js';
import { expandTemplate, hasTemplate } from '../../core/template.js';
import { UsageError } from '../../errors/comms-error.js';
import { type ExitCode, worstExitCode } from '../../errors/exit-codes.js';
import { formatAttempt, reportResult } from '../../output/human.js';
import { Output } from '../../output/output.js';
import { type NatsCall, type NatsReply, NatsTransport, type OutgoingMessage } from './adapter.js';
import { type NatsConnectionFlags, natsConnectOptionsFrom } from './connection-options.js';
import { ensureStream, validateStreamName } from './jetstream.js';
import { parseHeaders } from './request.js';
import { subjectFilterFor, validateSubject } from './subject.js';

type Flags = PublishFlags & ResilienceFlags & LoadFlags & OutputFlags & NatsConnectionFlags;

/**
 * `comms-cli nats publish`. Core publishes are one call per run (a batch of 1, --count N, or stdin
 * --lines) ending in a flush; JetStream publishes are one call per message, each waiting for its ack
 * and retried through the shared pipeline with the same Nats-Msg-Id.
 */
export async function runPublish(
  subjectTemplate: string,
  payloadArg: string | undefined,
  flags: Flags,
  ctx: CommandContext,
): Promise<ExitCode> {
  const output = new Output(outputFrom(flags));
  validateSubject(expandTemplate(subjectTemplate, 1), { wildcards: false });
  const count = parseCount(flags.count, '--count', { min: 1 }) ?? 1;
  // A --lines stream lasts as long as stdin does: no per-attempt timeout unless one is asked for.
  const resilience = resilienceFrom(
    flags,
    flags.lines && !flags.jetstream ? { timeoutMs: Number.POSITIVE_INFINITY } : {},
  );
  const connect = natsConnectOptionsFrom(flags);
  const headerTemplates = parseHeaders(flags.header);
  const jetstream = flags.jetstream === true;
  if (!jetstream) {
    for (const [flag, value] of [
      ['--stream', flags.stream],
      ['--msg-id', flags.msgId],
      ['--expect-stream', flags.expectStream],
    ] as const) {
      if (value !== undefined) throw new UsageError(`${flag} needs --jetstream`);
    }
  }
  if (jetstream && flags.replyTo)
    throw new UsageError('--reply-to cannot be used with --jetstream (the reply subject carries the ack)');
  if (flags.replyTo) validateSubject(flags.replyTo, { wildcards: false, flag: '--reply-to' });
  if (flags.stream) validateStreamName(flags.stream, '--stream');
  if (flags.expectStream) validateStreamName(flags.expectStream, '--expect-stream');
  const load = isLoadMode(flags);
  if (load && (count > 1 || flags.lines))
    throw new UsageError('--count and --lines cannot be combined with load mode (-n/--duration/--rate)');
  if (flags.lines && (payloadArg !== undefined || flags.data !== undefined)) {
    throw new UsageError('--lines reads the payloads from stdin: drop the payload argument and -d');
  }
  if (payloadArg !== undefined && flags.data !== undefined)
    throw new UsageError('give the payload either as an argument or with -d, not both');
  const many = count > 1 || flags.lines === true || (load && flags.requests !== '1');
  if (jetstream && many && flags.msgId !== undefined && flags.msgId !== 'auto' && !hasTemplate(flags.msgId)) {
    // Legal (a dedup test may want it), but usually a mistake: say so even with --json (stderr).
    if (!output.options.quiet)
      output.err.write(
        `${output.c.yellow('warning:')} every message carries --msg-id '${flags.msgId}': the stream stores the first and drops the others as duplicates (use {{seq}} in it, or --msg-id auto)\n`,
      );
  }
  const payloadSpec = flags.data ?? payloadArg;
  const payload =
    payloadSpec === undefined
      ? Buffer.alloc(0)
      : await readPayload(payloadSpec, flags.data !== undefined ? '-d' : 'payload', ctx.stdin);
  const payloadText = hasTemplate(payload.toString('utf8')) ? payload.toString('utf8') : undefined;

  const templated =
    hasTemplate(subjectTemplate) ||
    payloadText !== undefined ||
    headerTemplates.some(([k, v]) => hasTemplate(k) || hasTemplate(v));
  const fixed: OutgoingMessage = {
    subject: subjectTemplate,
    data: payload,
    ...(headerTemplates.length ? { headers: headerTemplates } : {}),
    ...(flags.replyTo ? { replyTo: flags.replyTo } : {}),
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
      ...(flags.replyTo ? { replyTo: expandTemplate(flags.replyTo, seq, now) } : {}),
    };
  };

  const transport = new NatsTransport(connect, resilience.timeoutMs, async (nc) => {
    if (flags.stream) await ensureStream(nc, flags.stream, subjectFilterFor(subjectTemplate), output);
  });
  const target = subjectTemplate;

  if (!jetstream) {
    const lines = flags.lines ? stdinLines(ctx.stdin, ctx.signal) : undefined;
    const batch = (): NatsCall => ({
      target,
      operation: 'publish',
      op: 'publish',
      messages: lines
        ? () => mapAsync(lines, (line, seq) => messageFor(seq, Buffer.from(line)))
        : () => range(count, (seq) => messageFor(seq)),
    });
    return runCallCommand<NatsCall, NatsReply>({
      transport,
      call: batch(),
      makeCall: (seq) => ({ target, operation: 'publish', op: 'publish', messages: () => [messageFor(seq)] }),
      resilience,
      output,
      load: legacyLoadPlan(flags),
      signal: ctx.signal,
      replyBytes: (r) => (r.op === 'publish' ? r.bytes : 0),
      async renderHuman({ result, reply }) {
        const n = reply?.op === 'publish' ? reply.count : 0;
        const total = result.timing?.total;
        const rate =
          total && n > 1
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
    flags.msgId === undefined
      ? undefined
      : flags.msgId === 'auto'
        ? randomUUID()
        : expandTemplate(flags.msgId, s);
  const jsCall = (message: OutgoingMessage, s: number): NatsCall => {
    const msgId = msgIdFor(s);
    return {
      target: message.subject,
      operation: 'publish',
      op: 'js-publish',
      message,
      ...(msgId ? { msgId } : {}),
      ...(flags.expectStream ? { expectStream: flags.expectStream } : {}),
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

  if (count === 1 && !flags.lines) {
    return runCallCommand<NatsCall, NatsReply>({
      transport,
      call: jsCall(messageFor(1), 1),
      makeCall: (s) => jsCall(messageFor(s), s),
      resilience,
      output,
      load: legacyLoadPlan(flags),
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
    const source: AsyncIterable<OutgoingMessage> | Iterable<OutgoingMessage> = flags.lines
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
  output.info(
    `${exit === 0 ? output.c.green('stored') : output.c.red('stopped')} ${exits.filter((e) => e === 0).length} of ${seq} message${seq === 1 ? '' : 's'}${output.c.dim(` · ${output.ms(ms)}`)}`,
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

/**
 * stdin line by line as it arrives (not read whole first), so `tail -f | publish --lines` streams.
 * Reading starts when iteration starts (nothing is read, and so nothing dropped, while connecting),
 * and the iteration ends at EOF or as soon as `signal` aborts, even while stdin is idle (Ctrl-C).
 * Lines end at \n; a trailing \r is dropped; a last line without \n still counts.
 */
export async function* stdinLines(stdin: NodeJS.ReadableStream, signal: AbortSignal): AsyncIterable<string> {
  if (signal.aborted) return;
  const decoder = new StringDecoder('utf8');
  const chunks = (stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let aborted: () => void = () => undefined;
  const abort = new Promise<'aborted'>((resolve) => {
    aborted = () => resolve('aborted');
    signal.addEventListener('abort', aborted, { once: true });
  });
  let rest = '';
  const cut = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
  try {
    for (;;) {
      const pending = chunks.next();
      const next = await Promise.race([pending, abort]);
      if (next === 'aborted') {
        // The read stays pending: destroy stdin (an idle pipe or TTY would keep the process alive);
        // iterator.return() would queue behind that pending read and never run.
        pending.catch(() => undefined);
        (stdin as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        return;
      }
      if (next.done) break;
      rest += typeof next.value === 'string' ? next.value : decoder.write(next.value);
      let nl = rest.indexOf('\n');
      while (nl >= 0) {
        yield cut(rest.slice(0, nl));
        rest = rest.slice(nl + 1);
        nl = rest.indexOf('\n');
      }
    }
    rest += decoder.end();
    if (rest !== '') yield cut(rest);
  } finally {
    signal.removeEventListener('abort', aborted);
    // Ended early by the consumer (no read pending here): stop reading stdin.
    void chunks.return?.().catch(() => undefined);
  }
}
