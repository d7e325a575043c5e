import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { CommandContext } from '../../../command/context.js';
import { StreamJudge, streamExpectationsFrom } from '../../../command/expect-options.js';
import { outputFrom } from '../../../command/shared-options.js';
import { streamExitCode, writeStreamSummary } from '../../../command/stream-end.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { performance } from '../../../core/clock.js';
import { type CommsError, ConnectError, UsageError } from '../../../errors/comms-error.js';
import { ExitCode } from '../../../errors/exit-codes.js';
import { Output, STDOUT_CLOSED } from '../../../output/output.js';
import { writeStreamMessage } from '../../../output/stream-message.js';
import { amqpEndpoint, checkShortString, closeAmqp, connectAmqp } from '../connection.js';
import { amqpError } from '../errors.js';
import type { ConsumeValues } from '../flags.js';
import { streamMessage } from '../message.js';

type StopReason = 'count' | 'timeout' | 'interrupted' | 'closed' | 'cancelled';

/** `--bind exchange:key` (the key may be empty or contain ':'). */
export function parseBind(text: string): { exchange: string; key: string } {
  const i = text.indexOf(':');
  if (i <= 0) throw new UsageError(`invalid --bind '${text}': expected exchange:routingKey`);
  const exchange = text.slice(0, i);
  const key = text.slice(i + 1);
  checkShortString(exchange, 'exchange name');
  checkShortString(key, 'routing key');
  return { exchange, key };
}

/**
 * `comms-cli amqp consume <queue>`: messages to stdout as they arrive, each acknowledged only after
 * stdout took it (so a consumer killed mid-way loses nothing: the broker redelivers what was not
 * acked), at most --prefetch unacknowledged at a time. Queue `-` with --bind: a private exclusive
 * auto-delete queue bound to each exchange:key, gone when the consumer ends.
 */
export async function runConsume(
  queueArg: string,
  values: ConsumeValues,
  ctx: CommandContext,
): Promise<ExitCode> {
  const output = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  const binds = values.bind.map(parseBind);
  const privateQueue = queueArg === '-';
  if (privateQueue && binds.length === 0)
    throw new UsageError("queue '-' needs --bind exchange:key (a private queue bound to it)");
  if (!privateQueue) {
    if (queueArg === '') throw new UsageError('empty queue name');
    checkShortString(queueArg, 'queue name');
  }
  if (!values.ack && (values.nack || values.requeueOnFail))
    throw new UsageError('--nack and --requeue-on-fail need acknowledgements: drop --no-ack');
  if (privateQueue && values.declare)
    throw new UsageError("queue '-' is always declared (private, auto-delete): drop --declare");
  if (!values.declare) {
    for (const [flag, set] of [
      ['--durable', values.durable],
      ['--exclusive', values.exclusive],
      ['--auto-delete', values.autoDelete],
    ] as const)
      if (set) throw new UsageError(`${flag} needs --declare`);
  }
  if (values.exchangeType !== undefined)
    throw new UsageError('--exchange-type is for publish/request -r EXCHANGE --declare');
  const endpoint = amqpEndpoint(values.url, tlsFrom(values), {
    showSecrets: values.showSecrets,
    connectTimeoutMs: 10_000,
  });
  const count = values.count;
  const ack = values.ack;
  // --expect-count / --expect-message: parsed now (exit 2 before connecting), judged as messages come.
  const judge = new StreamJudge(streamExpectationsFrom(values), { count, timeoutMs: values.timeout });

  let stopReason: StopReason | undefined;
  let stopError: CommsError | undefined;
  let wake: () => void = () => undefined;
  const stop = (reason: StopReason, error?: CommsError) => {
    if (stopReason) return;
    stopReason = reason;
    stopError = error;
    wake();
  };
  const onInterrupt = () => stop('interrupted');
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });
  const timer = values.timeout !== undefined ? setTimeout(() => stop('timeout'), values.timeout) : undefined;

  let conn: ChannelModel | undefined;
  let ch: Channel | undefined;
  let queue = queueArg;
  let n = 0;
  const started = performance.now();
  const inbox: ConsumeMessage[] = [];
  try {
    conn = await connectAmqp(endpoint);
    conn.on('error', () => undefined);
    conn.on('close', (err?: unknown) =>
      stop(
        'closed',
        err ? amqpError(err, endpoint.display) : new ConnectError(`connection to ${endpoint.display} closed`),
      ),
    );
    ch = await conn.createChannel();
    ch.on('error', (err: unknown) => stop('closed', amqpError(err, endpoint.display)));
    ch.on('close', () => stop('closed'));
    if (privateQueue) {
      const q = await ch.assertQueue('', { exclusive: true, autoDelete: true });
      queue = q.queue;
    } else if (values.declare) {
      await ch.assertQueue(queue, {
        durable: values.durable,
        exclusive: values.exclusive,
        autoDelete: values.autoDelete,
      });
    } else {
      await ch.checkQueue(queue);
    }
    for (const b of binds) await ch.bindQueue(queue, b.exchange, b.key);
    // With --count, never hold more than the messages still wanted.
    const prefetch =
      count !== undefined && values.prefetch > 0 ? Math.min(values.prefetch, count) : values.prefetch;
    if (ack && prefetch > 0) await ch.prefetch(prefetch);
    await ch.consume(
      queue,
      (msg) => {
        if (msg === null)
          stop(
            'cancelled',
            new ConnectError(`the broker cancelled the consumer of '${queue}' (queue deleted?)`),
          );
        else {
          inbox.push(msg);
          wake();
        }
      },
      { noAck: !ack },
    );
    output.verbose(
      output.c.dim(
        `consuming '${queue}' at ${endpoint.display}${ack ? `, prefetch ${prefetch}` : ', no acks'}`,
      ),
    );
    if (privateQueue && !output.options.quiet)
      output.err.write(`${output.c.dim(`private queue ${queue} bound to ${values.bind.join(', ')}`)}\n`);

    while (!stopReason) {
      const msg = inbox.shift();
      if (!msg) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = () => undefined;
        continue;
      }
      n += 1;
      try {
        // Acknowledged only once stdout handed the message to the OS.
        await writeStreamMessage(output, 'amqp', streamMessage(queue, msg), n, {
          raw: values.raw,
          durable: ack,
        });
      } catch (err) {
        // Not written (stdout closed): hand it back at once with --requeue-on-fail; otherwise it goes
        // back when the channel closes, unacknowledged.
        if (ack && values.requeueOnFail) ch.nack(msg, false, true);
        if (ctx.signal.aborted) {
          stop('interrupted');
          break;
        }
        throw err;
      }
      if (ack) {
        if (values.nack) ch.nack(msg, false, false);
        else ch.ack(msg);
      }
      const judged = judge.active && judge.seen(msg.content.toString('utf8'));
      if (judged || (count !== undefined && n >= count)) stop('count');
    }
  } catch (err) {
    // The reader went away (`| head -1`): not an error; what was not acked goes back to the queue.
    if ((err as CommsError).code === STDOUT_CLOSED) stop('closed');
    else throw amqpError(err, privateQueue ? endpoint.display : queue);
  } finally {
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onInterrupt);
    // Messages received but not printed go back to the queue when the channel closes (never acked).
    await ch?.close().catch(() => undefined);
    await closeAmqp(conn);
  }

  writeStreamSummary(output, queue, n, started);
  const code = streamExitCode({
    output,
    judge,
    where: queue,
    received: n,
    count,
    timeoutMs: values.timeout,
    reason: stopReason,
  });
  if (code !== undefined) return code;
  switch (stopReason) {
    case 'closed':
    case 'cancelled':
      if (count !== undefined && n >= count) return ExitCode.ok;
      if (stopError) {
        output.error(stopError);
        return stopError.kind === 'connect' ? ExitCode.connect : ExitCode.failed;
      }
      return ExitCode.ok;
    default:
      return ExitCode.ok;
  }
}
