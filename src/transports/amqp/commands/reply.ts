import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { CommandContext } from '../../../command/context.js';
import { runExec } from '../../../command/exec.js';
import { outputFrom } from '../../../command/shared-options.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { parseHeader, readPayload } from '../../../core/input.js';
import { UsageError } from '../../../errors/comms-error.js';
import { ExitCode } from '../../../errors/exit-codes.js';
import { Output } from '../../../output/output.js';
import { RequestPrinter, type StreamMessage } from '../../../output/stream-message.js';
import { SERVICE_ERROR, SERVICE_ERROR_CODE } from '../call.js';
import { amqpEndpoint, checkShortString, closeAmqp, connectAmqp } from '../connection.js';
import { amqpError } from '../errors.js';
import type { ReplyValues } from '../flags.js';
import { streamMessage } from '../message.js';
import { checkDeclare } from '../outgoing.js';

interface Answer {
  data: Buffer;
  headers?: Record<string, string>;
}

/**
 * `comms-cli amqp reply <queue>`: a responder for testing. Each request on the queue is printed like
 * a consumed message and answered to its reply-to with its correlation id (echo, --body, or --exec),
 * after --delay, unless fault injection (--fail-first, --fail-rate) drops it, so a requester's
 * retries and breaker can be watched. A failing --exec answers with x-service-error-code 500 (504
 * when it outlived --exec-timeout): the requester exits 1. Requests are acked once handled.
 */
export async function runReply(queue: string, values: ReplyValues, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  if (queue === '') throw new UsageError('empty queue name');
  checkShortString(queue, 'queue name');
  checkDeclare(values, { kind: 'queue', name: queue });
  if (values.body !== undefined && values.exec !== undefined)
    throw new UsageError('--body and --exec are alternatives: give one');
  if (values.exec !== undefined && values.exec.trim() === '') throw new UsageError('empty --exec command');
  const body = values.body !== undefined ? await readPayload(values.body, '--body', ctx.stdin) : undefined;
  const extraHeaders = values.header.map((h) => parseHeader(h, '-H'));
  const endpoint = amqpEndpoint(values.url, tlsFrom(values), {
    showSecrets: values.showSecrets,
    connectTimeoutMs: 10_000,
  });
  const failRate = values.failRate ?? 0;
  const delayMs = values.delay ?? 0;

  let conn: ChannelModel | undefined;
  let ch: Channel | undefined;
  let n = 0;
  let answered = 0;
  let dropped = 0;
  let toAnswer = 0;
  const inflight = new Set<Promise<void>>();
  let interrupted = false;
  let failure: unknown;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onInterrupt = () => {
    interrupted = true;
    done();
  };
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });

  const answer = async (msg: ConsumeMessage): Promise<Answer | undefined> => {
    if (values.exec !== undefined) {
      const r = await runExec(values.exec, msg.content, {
        timeoutMs: values.execTimeout,
        signal: ctx.signal,
        env: {
          AMQP_QUEUE: queue,
          AMQP_ROUTING_KEY: msg.fields.routingKey,
          AMQP_CORRELATION_ID: String(msg.properties.correlationId ?? ''),
        },
      });
      if (r === undefined) return undefined;
      if (r.ok) return { data: r.data };
      return {
        data: r.data,
        headers: { [SERVICE_ERROR_CODE]: r.timedOut ? '504' : '500', [SERVICE_ERROR]: r.why },
      };
    }
    if (body !== undefined) return { data: body };
    const headers = msg.properties.headers as Record<string, string> | undefined;
    return { data: msg.content, ...(headers ? { headers } : {}) };
  };

  // --raw prints only the payload: skip building the headers, properties and notes per request.
  const rawText = values.raw && !output.options.json;
  const printed = (msg: ConsumeMessage): StreamMessage =>
    rawText ? { where: 'queue', name: queue, data: msg.content } : streamMessage(queue, msg);
  const printer = new RequestPrinter(output, 'amqp', values.raw, printed, (msg) => msg.content);
  /** Echo or --body, no --delay, no --exec: answered in the consumer callback, without a promise. */
  const immediate = values.exec === undefined && delayMs === 0;
  const replyNow = (c: Channel, msg: ConsumeMessage, seq: number): void => {
    const incoming = msg.properties.headers as Record<string, string> | undefined;
    const headers =
      extraHeaders.length === 0
        ? body === undefined
          ? incoming
          : undefined
        : { ...(body === undefined ? (incoming ?? {}) : {}), ...Object.fromEntries(extraHeaders) };
    const corr = msg.properties.correlationId;
    const data = body ?? msg.content;
    c.sendToQueue(String(msg.properties.replyTo), data, {
      ...(corr !== undefined ? { correlationId: corr } : {}),
      ...(headers && Object.keys(headers).length ? { headers } : {}),
    });
    c.ack(msg);
    answered += 1;
    if (output.options.verbose) output.verbose(output.c.dim(`#${seq}: replied ${data.byteLength} bytes`));
    if (values.count !== undefined && answered >= values.count) done();
  };

  const handle = async (
    msg: ConsumeMessage,
    seq: number,
    fate: 'answer' | 'drop' | 'no-reply',
  ): Promise<void> => {
    const c = ch as Channel;
    if (fate === 'no-reply') {
      output.verbose(output.c.yellow(`#${seq}: no reply-to (a publish, not a request): acked, not answered`));
      c.ack(msg);
      return;
    }
    if (fate === 'drop') {
      dropped += 1;
      output.info(output.c.yellow(`#${seq}: dropped (fault injection): no reply`));
      c.ack(msg);
      return;
    }
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: ctx.signal }).catch(() => undefined);
    const a = ctx.signal.aborted ? undefined : await answer(msg);
    if (a === undefined) {
      // Interrupted: not answered and not acked, so the request goes back to the queue.
      output.verbose(output.c.yellow(`#${seq}: interrupted: not answered`));
      return;
    }
    const headers = { ...(a.headers ?? {}), ...Object.fromEntries(extraHeaders) };
    c.sendToQueue(String(msg.properties.replyTo), a.data, {
      ...(msg.properties.correlationId !== undefined ? { correlationId: msg.properties.correlationId } : {}),
      ...(Object.keys(headers).length ? { headers } : {}),
    });
    c.ack(msg);
    answered += 1;
    if (output.options.verbose) output.verbose(output.c.dim(`#${seq}: replied ${a.data.byteLength} bytes`));
  };

  try {
    conn = await connectAmqp(endpoint);
    conn.on('error', () => undefined);
    ch = await conn.createChannel();
    ch.on('error', (err: unknown) => {
      failure = amqpError(err, queue);
      done();
    });
    ch.on('close', () => done());
    if (values.declare)
      await ch.assertQueue(queue, {
        durable: values.durable,
        exclusive: values.exclusive,
        autoDelete: values.autoDelete,
      });
    else await ch.checkQueue(queue);
    await ch.prefetch(values.prefetch);
    const mode =
      values.exec !== undefined ? `exec '${values.exec}'` : body !== undefined ? 'fixed body' : 'echo';
    output.info(
      output.c.dim(
        `replying on queue '${queue}' at ${endpoint.display}: ${mode}` +
          `${delayMs ? `, delay ${output.ms(delayMs)}` : ''}${values.failFirst ? `, dropping the first ${values.failFirst}` : ''}${failRate ? `, dropping ${Math.round(failRate * 100)}%` : ''}`,
      ),
    );
    const { consumerTag } = await ch.consume(queue, (msg) => {
      if (msg === null) {
        done();
        return;
      }
      if (values.count !== undefined && toAnswer >= values.count) return; // past --count: left unacked, requeued
      n += 1;
      const seq = n;
      printer.print(msg, seq);
      const fate = !msg.properties.replyTo
        ? 'no-reply'
        : seq <= values.failFirst || (failRate > 0 && Math.random() < failRate)
          ? 'drop'
          : 'answer';
      if (fate === 'answer') toAnswer += 1;
      if (fate === 'answer' && immediate && !ctx.signal.aborted) {
        try {
          replyNow(ch as Channel, msg, seq);
        } catch (err) {
          output.error({ message: `#${seq}: ${(err as Error).message}` });
        }
        return;
      }
      const task = handle(msg, seq, fate).catch((err: unknown) =>
        output.error({ message: `#${seq}: ${(err as Error).message}` }),
      );
      inflight.add(task);
      void task.finally(() => {
        inflight.delete(task);
        if (values.count !== undefined && answered >= values.count) done();
      });
    });
    await finished;
    if (!failure) await ch.cancel(consumerTag).catch(() => undefined);
    await Promise.all(inflight);
    await printer.drained();
  } catch (err) {
    throw amqpError(err, queue);
  } finally {
    ctx.signal.removeEventListener('abort', onInterrupt);
    await ch?.close().catch(() => undefined);
    await closeAmqp(conn);
  }
  if (failure) throw failure;
  if (!output.options.quiet)
    output.err.write(
      `${output.c.dim(`${queue}: ${n} request${n === 1 ? '' : 's'}, ${answered} answered, ${dropped} dropped`)}\n`,
    );
  return interrupted ? ExitCode.interrupted : ExitCode.ok;
}
