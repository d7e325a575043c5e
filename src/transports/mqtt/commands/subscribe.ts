import type { MqttClient } from 'mqtt';
import type { CommandContext } from '../../../command/context.js';
import { StreamJudge, streamExpectationsFrom } from '../../../command/expect-options.js';
import { outputFrom } from '../../../command/shared-options.js';
import { streamExitCode, writeStreamSummary } from '../../../command/stream-end.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { performance } from '../../../core/clock.js';
import { type CommsError, ConnectError } from '../../../errors/comms-error.js';
import { ExitCode } from '../../../errors/exit-codes.js';
import { Output } from '../../../output/output.js';
import { writeStreamMessage } from '../../../output/stream-message.js';
import { closeMqtt, connectMqtt, mqttEndpoint } from '../connection.js';
import { mqttError } from '../errors.js';
import { qosLevel, type SubscribeValues } from '../flags.js';
import { streamMessage } from '../message.js';
import { validateTopic } from '../topic.js';

type StopReason = 'count' | 'timeout' | 'interrupted' | 'closed';

/**
 * `comms-cli mqtt subscribe <filter>`: messages to stdout as they arrive, retained ones marked. A QoS
 * 1/2 message is acknowledged (PUBACK/PUBREC) only after stdout took it: mqtt.js sends the ack when
 * `handleMessage` calls back, and handles the next packet only after that, so stdout's backpressure
 * reaches the broker.
 */
export async function runSubscribe(
  filter: string,
  values: SubscribeValues,
  ctx: CommandContext,
): Promise<ExitCode> {
  const output = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  validateTopic(filter, { filter: true, flag: 'topic filter' });
  const qos = qosLevel(values.qos);
  const endpoint = mqttEndpoint(values, tlsFrom(values), 10_000);
  const count = values.count;
  // --expect-count / --expect-message: parsed now (exit 2 before connecting), judged as messages come.
  const judge = new StreamJudge(streamExpectationsFrom(values), { count, timeoutMs: values.timeout });

  let stopReason: StopReason | undefined;
  let stopError: CommsError | undefined;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const stop = (reason: StopReason, error?: CommsError) => {
    if (stopReason) return;
    stopReason = reason;
    stopError = error;
    wake();
  };
  const onInterrupt = () => stop('interrupted');
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });
  const timer = values.timeout !== undefined ? setTimeout(() => stop('timeout'), values.timeout) : undefined;
  let client: MqttClient | undefined;
  let n = 0;
  let retainedSkipped = 0;
  const started = performance.now();
  try {
    const handleMessage: MqttClient['handleMessage'] = (packet, callback) => {
      if (stopReason) return; // not acknowledged: a persistent session gets it again
      if (!values.retained && packet.retain && endpoint.version !== 5) {
        retainedSkipped += 1;
        callback();
        return;
      }
      n += 1;
      writeStreamMessage(output, 'mqtt', streamMessage(packet), n, {
        raw: values.raw,
        durable: packet.qos > 0,
      }).then(
        () => {
          callback();
          const judged = judge.active && judge.seen(Buffer.from(packet.payload).toString('utf8'));
          if (judged || (count !== undefined && n >= count)) stop('count');
        },
        () => stop('interrupted'),
      );
    };
    client = await connectMqtt(endpoint, ctx.signal, (c) => {
      c.handleMessage = handleMessage;
    });
    const c = client;
    c.on('close', () => stop('closed', new ConnectError(`the connection to ${endpoint.display} closed`)));
    const grants = await c
      .subscribeAsync(filter, { qos, ...(endpoint.version === 5 && !values.retained ? { rh: 2 } : {}) })
      .catch((err: unknown) => {
        throw mqttError(err, filter, 'subscribe');
      });
    const granted = grants[0]?.qos;
    if (granted !== undefined && granted >= 0x80) throw mqttError({ code: granted }, filter, 'subscribe');
    output.verbose(
      output.c.dim(`subscribed to '${filter}' at ${endpoint.display} (QoS ${granted ?? qos} granted)`),
    );
    await stopped;
  } finally {
    if (timer) clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onInterrupt);
    await closeMqtt(client);
  }
  writeStreamSummary(
    output,
    filter,
    n,
    started,
    retainedSkipped ? `, ${retainedSkipped} retained skipped` : '',
  );
  const code = streamExitCode({
    output,
    judge,
    where: filter,
    received: n,
    count,
    timeoutMs: values.timeout,
    reason: stopReason,
  });
  if (code !== undefined) return code;
  switch (stopReason) {
    case 'closed':
      if (count !== undefined && n >= count) return ExitCode.ok;
      if (stopError) output.error(stopError);
      return ExitCode.connect;
    default:
      return ExitCode.ok;
  }
}
