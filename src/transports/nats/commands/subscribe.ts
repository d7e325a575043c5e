import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, ConsumerMessages, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CommandContext } from '../../../command/context.js';
import {
  type StreamExpectations,
  StreamJudge,
  streamExpectationsFrom,
} from '../../../command/expect-options.js';
import { outputFrom } from '../../../command/shared-options.js';
import { streamExitCode, writeStreamSummary } from '../../../command/stream-end.js';
import { performance } from '../../../core/clock.js';
import { type CommsError, ConnectError, ResponseError, UsageError } from '../../../errors/comms-error.js';
import { ExitCode } from '../../../errors/exit-codes.js';
import { Output, type OutputOptions } from '../../../output/output.js';
import { closeNats, connectNats } from '../connection.js';
import { describeServers, type NatsConnectOptions, natsConnectOptionsFrom } from '../connection-options.js';
import { isStreamNotFound, natsError } from '../errors.js';
import type { SubscribeValues } from '../flags.js';
import {
  deliverPolicy,
  ensureDurable,
  jetstreamError,
  manager,
  streamMissing,
  validateStreamName,
} from '../jetstream.js';
import { boundedHeaders, type ReceivedMessage, writeMessage } from '../message.js';
import { validateQueue, validateSubject } from '../subject.js';

/** `nats subscribe`, parsed and checked once: nothing below reads an option again. */
export interface SubscribePlan {
  subject: string;
  queue: string | undefined;
  /** Exit 0 after this many messages. */
  count: number | undefined;
  /** Exit 4 unless the expected messages arrive within this many ms. */
  timeoutMs: number | undefined;
  raw: boolean;
  /** Present: consume from a JetStream stream. */
  jetstream:
    | {
        /** Absent: the stream that stores the subject ($JS.API.STREAM.NAMES with a subject filter). */
        stream: string | undefined;
        durable: string | undefined;
        deliver: ReturnType<typeof deliverPolicy>;
        ackWaitMs: number;
        ack: boolean;
      }
    | undefined;
  output: OutputOptions;
  connect: NatsConnectOptions;
  /** --expect-count / --expect-message (command/expect-options.ts). */
  expect: StreamExpectations;
}

export function subscribePlanFrom(subject: string, values: SubscribeValues): SubscribePlan {
  validateSubject(subject, { wildcards: true });
  let jetstream: SubscribePlan['jetstream'];
  if (values.jetstream) {
    // Without --stream, the stream that stores the subject is looked up when connected (as the nats CLI).
    if (values.stream !== undefined) validateStreamName(values.stream, '--stream');
    if (values.durable) validateStreamName(values.durable, '--durable');
    if (values.queue)
      throw new UsageError(
        '--queue is for core subscriptions; with --jetstream share work by giving each subscriber the same --durable',
      );
    jetstream = {
      stream: values.stream,
      durable: values.durable,
      deliver: deliverPolicy(values.deliver),
      ackWaitMs: values.ackWait,
      ack: values.ack,
    };
  } else {
    for (const [flag, set] of [
      ['--stream', values.stream !== undefined],
      ['--durable', values.durable !== undefined],
      ['--no-ack', !values.ack],
    ] as const) {
      if (set) throw new UsageError(`${flag} needs --jetstream`);
    }
    deliverPolicy(values.deliver);
  }
  if (values.queue !== undefined) validateQueue(values.queue);
  return {
    subject,
    queue: values.queue,
    count: values.count,
    timeoutMs: values.timeout,
    raw: values.raw,
    jetstream,
    expect: streamExpectationsFrom(values),
    output: outputFrom(values),
    // The first connect is bounded too (a server that accepts and never sends INFO): by --timeout
    // when it is shorter than the usual connect timeout.
    connect: natsConnectOptionsFrom(values, {
      reconnect: 'forever',
      ...(values.timeout !== undefined ? { connectTimeoutMs: Math.min(5_000, values.timeout) } : {}),
    }),
  };
}

type StopReason = 'count' | 'timeout' | 'interrupted' | 'closed';

/**
 * Why and when a subscription ends: --count reached, --timeout expired, Ctrl-C, or the connection
 * closed for good. Whatever comes first wins; the loops below poll `stopped` between messages and
 * await `done` while idle, so a message being written is always finished first.
 */
class Stopper {
  reason: StopReason | undefined;
  error: CommsError | undefined;
  readonly #controller = new AbortController();
  readonly #listeners: Array<() => void> = [];

  get stopped(): boolean {
    return this.reason !== undefined;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  stop(reason: StopReason, error?: CommsError): void {
    if (this.reason) return;
    this.reason = reason;
    this.error = error;
    this.#controller.abort();
    for (const l of this.#listeners.splice(0)) l();
  }

  onStop(listener: () => void): void {
    if (this.reason) listener();
    else this.#listeners.push(listener);
  }
}

/**
 * `comms-cli nats subscribe`: messages to stdout as they arrive (with backpressure), a summary on
 * stderr at the end. Core subjects use a plain (or queue) subscription that survives reconnects;
 * JetStream uses a durable consumer (explicit acks, sent only after the message was written) or an
 * ordered consumer when no --durable is given.
 */
export async function runSubscribe(plan: SubscribePlan, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(plan.output, ctx.stdout, ctx.stderr);
  const { subject, count, timeoutMs, raw, jetstream, connect } = plan;

  const nc = await connectNats(connect, output, { announceReconnects: true });
  const stopper = new Stopper();
  const onInterrupt = () => stopper.stop('interrupted');
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });
  output.verbose(output.c.dim(`connected to ${describeServers(connect.servers)}`));
  void nc.closed().then((err) => {
    if (err) stopper.stop('closed', natsError(err, describeServers(connect.servers)));
    else stopper.stop('closed');
  });
  const timer = timeoutMs !== undefined ? setTimeout(() => stopper.stop('timeout'), timeoutMs) : undefined;

  let n = 0;
  const judge = new StreamJudge(plan.expect, { count, timeoutMs });
  const slow: SlowConsumer = { dropped: 0 };
  const started = performance.now();
  const deliverOne = async (m: ReceivedMessage): Promise<void> => {
    n += 1;
    // JetStream: acked after this returns, so wait until stdout has really taken the message.
    await writeMessage(output, m, n, { raw, durable: jetstream !== undefined });
    const judged = judge.active && judge.seen(Buffer.from(m.data).toString('utf8'));
    if (judged || (count !== undefined && n >= count)) stopper.stop('count');
  };

  try {
    if (ctx.signal.aborted) stopper.stop('interrupted');
    if (jetstream)
      await consumeJetStream(nc, subject, jetstream, {
        count,
        output,
        stopper,
        deliverOne,
        ...(ctx.ready ? { ready: ctx.ready } : {}),
      });
    else await consumeCore(nc, subject, plan.queue, count, stopper, deliverOne, output, slow, ctx.ready);
  } finally {
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onInterrupt);
    // Drain sends every pending ack before the connection closes.
    await closeNats(nc);
  }

  writeStreamSummary(output, subject, n, started);
  if (slow.dropped > 0) {
    // Always said (even with -q) and always a failure: messages were lost.
    output.error(
      new ResponseError(`slow consumer: ${slow.dropped.toLocaleString('en-US')} messages dropped`, {
        code: 'COMMS_ERR_NATS_SLOW_CONSUMER',
        hint: `stdout was read too slowly: at most ${PENDING_LIMITS.messages.toLocaleString('en-US')} messages or ${PENDING_LIMITS.bytes / 1048576} MiB wait for it; read faster, or use --jetstream --durable to lose nothing`,
      }),
    );
    if (stopper.reason !== 'interrupted') return ExitCode.failed;
  }

  // The stream ended (count, timeout, close): the expectations are judged on what arrived.
  const code = streamExitCode({
    output,
    judge,
    where: subject,
    received: n,
    count,
    timeoutMs,
    reason: stopper.reason,
  });
  if (code !== undefined) return code;
  switch (stopper.reason) {
    case 'closed':
      if (count !== undefined && n >= count) return ExitCode.ok;
      if (stopper.error) {
        output.error(stopper.error);
        return ExitCode.connect;
      }
      return count === undefined ? ExitCode.ok : ExitCode.connect;
    default:
      return ExitCode.ok;
  }
}

/**
 * What a core subscriber holds for a slow reader (stdout a slow pipe, or one that stopped reading):
 * the Go client's defaults, 65,536 messages or 64 MiB. Beyond either, new messages are dropped and
 * counted (a slow consumer), so memory stays bounded however fast the publisher is.
 */
export const PENDING_LIMITS = { messages: 65_536, bytes: 64 * 1024 * 1024 } as const;

/** Messages dropped by a slow consumer (core subscribe), reported at the end; they make the exit 1. */
interface SlowConsumer {
  dropped: number;
}

async function consumeCore(
  nc: NatsConnection,
  subject: string,
  queue: string | undefined,
  count: number | undefined,
  stopper: Stopper,
  deliverOne: (m: ReceivedMessage) => Promise<void>,
  output: Output,
  slow: SlowConsumer,
  ready?: () => void,
): Promise<void> {
  // A callback subscription: nats.js hands each message over as it is parsed, and this function keeps
  // its own bounded queue (copied payloads, so a kept message does not pin the socket's read buffer).
  const pending: Array<ReceivedMessage | undefined> = [];
  let head = 0;
  let pendingBytes = 0;
  let closed = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // `max` lets the server stop sending after --count, so nothing extra is buffered.
  const sub = nc.subscribe(subject, {
    ...(queue ? { queue } : {}),
    ...(count !== undefined ? { max: count } : {}),
    callback: (err, m) => {
      if (err) {
        failure = err;
        poke();
        return;
      }
      if (stopper.stopped && stopper.reason !== 'interrupted') return;
      const size = m.data.byteLength + m.subject.length;
      if (pending.length - head >= PENDING_LIMITS.messages || pendingBytes + size > PENDING_LIMITS.bytes) {
        if (slow.dropped === 0 && !output.options.quiet)
          output.err.write(
            `${output.c.yellow(`warning: slow consumer on '${subject}': ${(pending.length - head).toLocaleString('en-US')} messages (${Math.round(pendingBytes / 1048576)} MiB) waiting for stdout; dropping new messages`)}\n`,
          );
        slow.dropped += 1;
        return;
      }
      const { headers, dropped } = boundedHeaders(m);
      pending.push({
        subject: m.subject,
        reply: m.reply || undefined,
        headers,
        ...(dropped !== undefined ? { headersDropped: dropped } : {}),
        data: Buffer.from(m.data),
      });
      pendingBytes += size;
      poke();
    },
  });
  void sub.closed.then(() => {
    closed = true;
    poke();
  });
  stopper.onStop(() => {
    // Ctrl-C drains: messages already received are still printed; the others end at once.
    if (stopper.reason === 'interrupted') {
      void sub.drain().catch(() => undefined);
      // A drain waits for the server; when it is down, stop waiting after a moment.
      setTimeout(() => {
        closed = true;
        poke();
      }, 2_000).unref();
    } else sub.unsubscribe();
    poke();
  });
  await nc.flush().catch(() => undefined);
  output.verbose(output.c.dim(`listening on '${subject}'${queue ? ` (queue ${queue})` : ''}`));
  ready?.();
  for (;;) {
    if (failure !== undefined) throw natsError(failure, subject);
    const m = pending[head];
    if (m !== undefined) {
      pending[head] = undefined;
      head += 1;
      pendingBytes -= m.data.byteLength + m.subject.length;
      if (head > 4096 && head * 2 > pending.length) {
        pending.splice(0, head);
        head = 0;
      }
      await deliverOne(m);
      if (stopper.reason === 'count') break;
      if (stopper.stopped && stopper.reason !== 'interrupted') break;
      continue;
    }
    if (closed || (stopper.stopped && stopper.reason !== 'interrupted')) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
  }
}

interface JetStreamRun {
  count: number | undefined;
  output: Output;
  stopper: Stopper;
  deliverOne: (m: ReceivedMessage) => Promise<void>;
  /** Called once the consumer exists on the server (a check's background step may go on). */
  ready?: () => void;
}

/**
 * Pull in bounded batches (never more than --count still needs), so a stop leaves nothing pulled
 * and unaccounted for: messages of the current batch that were not written are nak'ed and come back
 * at once (to the next run of a durable) instead of after --ack-wait.
 */
async function consumeJetStream(
  nc: NatsConnection,
  subject: string,
  js: NonNullable<SubscribePlan['jetstream']>,
  run: JetStreamRun,
): Promise<void> {
  const { durable, deliver, ackWaitMs } = js;
  const jsm = await manager(nc, js.stream ?? subject);
  const stream = js.stream ?? (await streamOf(jsm, subject));
  const { jetstream } = await import('@nats-io/jetstream');
  const client = jetstream(nc);
  let consumer: Consumer;
  try {
    if (durable) {
      await ensureDurable(jsm, stream, durable, subject, deliver, ackWaitMs, run.output);
      consumer = await client.consumers.get(stream, durable);
    } else {
      consumer = await client.consumers.get(stream, {
        ...(subject !== '>' ? { filter_subjects: subject } : {}),
        ...deliver,
      });
    }
  } catch (err) {
    if (isStreamNotFound(err)) throw streamMissing(stream, err);
    throw jetstreamError(err, stream);
  }
  run.output.verbose(
    run.output.c.dim(`listening on '${subject}' (stream ${stream}${durable ? `, durable ${durable}` : ''})`),
  );
  // The consumer now exists on the server (both paths created it): what is published from here is ours.
  run.ready?.();
  const explicitAck = durable !== undefined && js.ack;
  let batch: ConsumerMessages | undefined;
  run.stopper.onStop(() => {
    void batch?.close().catch(() => undefined);
  });
  let delivered = 0;
  while (!run.stopper.stopped) {
    const want = Math.min(run.count !== undefined ? run.count - delivered : 64, 64);
    try {
      batch = await consumer.fetch({ max_messages: want, expires: 5_000 });
    } catch (err) {
      if (run.stopper.stopped) break;
      run.output.verbose(run.output.c.yellow(`nats: fetch failed (${(err as Error).message}); retrying`));
      await sleep(250, undefined, { signal: run.stopper.signal }).catch(() => undefined);
      continue;
    }
    try {
      for await (const m of batch) {
        if (run.stopper.stopped) {
          if (explicitAck) m.nak();
          continue;
        }
        try {
          await run.deliverOne(fromJs(m));
        } catch (err) {
          // Not written (stdout closed): hand it back at once instead of after --ack-wait.
          if (explicitAck) m.nak();
          throw err;
        }
        delivered += 1;
        if (explicitAck) m.ack();
      }
    } catch (err) {
      if (run.stopper.stopped) break;
      run.output.verbose(
        run.output.c.yellow(`nats: consumer interrupted (${(err as Error).message}); resuming`),
      );
      await sleep(250, undefined, { signal: run.stopper.signal }).catch(() => undefined);
    }
  }
}

function fromJs(m: JsMsg): ReceivedMessage {
  return {
    subject: m.subject,
    headers: m.headers,
    data: m.data,
    stream: m.info.stream,
    seq: m.seq,
    redelivered: m.redelivered,
    deliveryCount: m.info.deliveryCount,
  };
}

/** `subscribe --jetstream` without --stream: the one stream that stores the subject, or exit 3 saying so. */
async function streamOf(jsm: JetStreamManager, subject: string): Promise<string> {
  try {
    return await jsm.streams.find(subject);
  } catch (err) {
    // The server answers the lookup: no stream, or (a wide wildcard) several.
    throw new ConnectError(`no single JetStream stream stores '${subject}'`, {
      cause: err,
      code: 'COMMS_ERR_NATS_NO_STREAM',
      hint: 'name it with --stream NAME (comms-cli nats publish SUBJECT --jetstream --stream NAME creates one)',
    });
  }
}
