import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import type { CommandContext } from '../../../command/context.js';
import { runExec } from '../../../command/exec.js';
import { outputFrom } from '../../../command/shared-options.js';
import { tlsFrom } from '../../../command/tls-options.js';
import { parseHeader, readPayload } from '../../../core/input.js';
import { type CommsError, ConnectError, UsageError } from '../../../errors/comms-error.js';
import { ExitCode } from '../../../errors/exit-codes.js';
import { Output } from '../../../output/output.js';
import { RequestPrinter, type StreamMessage } from '../../../output/stream-message.js';
import { SERVICE_ERROR, SERVICE_ERROR_CODE } from '../call.js';
import { closeMqtt, connectMqtt, mqttEndpoint } from '../connection.js';
import { mqttError } from '../errors.js';
import { qosLevel, type ReplyValues } from '../flags.js';
import { headersOf, type PublishPacket, streamMessage } from '../message.js';
import { validateTopic } from '../topic.js';

interface Answer {
  data: Buffer;
  headers?: Record<string, string | string[]>;
}

/**
 * `comms-cli mqtt reply <topic>`: an MQTT 5 responder for testing, the counterpart of `mqtt request`
 * (and of any MQTT 5 requester: response topic + correlation data). Each request is printed like a
 * subscribed message and answered on its response topic with its correlation data copied (echo with
 * its user properties, --body, or --exec), after --delay, unless fault injection (--fail-first,
 * --fail-rate) drops it. A failing --exec answers with the user property x-service-error-code 500
 * (504 when it outlived --exec-timeout): `mqtt request` exits 1. A message without a response topic
 * is a publish, not a request: printed, not answered.
 */
export async function runReply(topic: string, values: ReplyValues, ctx: CommandContext): Promise<ExitCode> {
  const output = new Output(outputFrom(values), ctx.stdout, ctx.stderr);
  validateTopic(topic, { filter: true, flag: 'topic filter' });
  const qos = qosLevel(values.qos);
  if (values.body !== undefined && values.exec !== undefined)
    throw new UsageError('--body and --exec are alternatives: give one');
  if (values.exec !== undefined && values.exec.trim() === '') throw new UsageError('empty --exec command');
  const endpoint = mqttEndpoint(values, tlsFrom(values), 10_000);
  if (endpoint.version !== 5)
    throw new UsageError(
      'mqtt reply needs MQTT 5 (response topic and correlation data): drop --mqtt-version 3.1.1',
    );
  const body = values.body !== undefined ? await readPayload(values.body, '--body', ctx.stdin) : undefined;
  const extraHeaders = values.header.map((h) => parseHeader(h, '-H'));
  const failRate = values.failRate ?? 0;
  const delayMs = values.delay ?? 0;

  let client: MqttClient | undefined;
  let n = 0;
  let answered = 0;
  let dropped = 0;
  let toAnswer = 0;
  const inflight = new Set<Promise<void>>();
  let interrupted = false;
  let failure: CommsError | undefined;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onInterrupt = () => {
    interrupted = true;
    done();
  };
  ctx.signal.addEventListener('abort', onInterrupt, { once: true });

  const answer = async (packet: PublishPacket, payload: Buffer): Promise<Answer | undefined> => {
    if (values.exec !== undefined) {
      const corr = packet.properties?.correlationData;
      const r = await runExec(values.exec, payload, {
        timeoutMs: values.execTimeout,
        signal: ctx.signal,
        env: {
          MQTT_TOPIC: packet.topic,
          MQTT_RESPONSE_TOPIC: packet.properties?.responseTopic ?? '',
          MQTT_CORRELATION_DATA: corr ? Buffer.from(corr).toString('utf8') : '',
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
    const headers = headersOf(packet);
    return { data: payload, ...(headers ? { headers } : {}) };
  };

  // --raw prints only the payload: skip building the headers, properties and notes per request.
  const rawText = values.raw && !output.options.json;
  const printed = (packet: PublishPacket): StreamMessage =>
    rawText
      ? {
          where: 'topic',
          name: packet.topic,
          data: typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
        }
      : streamMessage(packet);

  const printer = new RequestPrinter(output, 'mqtt', values.raw, printed, (packet) =>
    typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload,
  );

  /** Echo or --body, no --delay, no --exec: answered from the message callback, without a promise. */
  const immediate = values.exec === undefined && delayMs === 0;
  /** Immediate answers whose publish callback has not come yet (waited for at the end, like `inflight`). */
  let publishing = 0;
  let onIdle: (() => void) | undefined;
  const replyNow = (c: MqttClient, packet: PublishPacket, responseTopic: string, seq: number): void => {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const data = body ?? payload;
    const echoed = body === undefined ? headersOf(packet) : undefined;
    const userProperties =
      extraHeaders.length === 0 ? echoed : { ...(echoed ?? {}), ...Object.fromEntries(extraHeaders) };
    const corr = packet.properties?.correlationData;
    publishing += 1;
    c.publish(
      responseTopic,
      data,
      {
        qos,
        properties: {
          ...(corr ? { correlationData: corr } : {}),
          ...(userProperties && Object.keys(userProperties).length ? { userProperties } : {}),
        },
      },
      (err) => {
        publishing -= 1;
        if (err) output.error({ message: `#${seq}: ${mqttError(err, responseTopic, 'publish').message}` });
        else {
          answered += 1;
          if (output.options.verbose)
            output.verbose(output.c.dim(`#${seq}: replied ${data.byteLength} bytes`));
          if (values.count !== undefined && answered >= values.count) done();
        }
        if (publishing === 0) onIdle?.();
      },
    );
  };

  const handle = async (
    c: MqttClient,
    packet: PublishPacket,
    seq: number,
    fate: 'answer' | 'drop' | 'no-reply',
  ): Promise<void> => {
    if (fate === 'no-reply') {
      output.verbose(output.c.yellow(`#${seq}: no response topic (a publish, not a request): not answered`));
      return;
    }
    if (fate === 'drop') {
      dropped += 1;
      output.info(output.c.yellow(`#${seq}: dropped (fault injection): no reply`));
      return;
    }
    if (delayMs > 0) await sleep(delayMs, undefined, { signal: ctx.signal }).catch(() => undefined);
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const a = ctx.signal.aborted ? undefined : await answer(packet, payload);
    if (a === undefined) {
      output.verbose(output.c.yellow(`#${seq}: interrupted: not answered`));
      return;
    }
    const userProperties = { ...(a.headers ?? {}), ...Object.fromEntries(extraHeaders) };
    const corr = packet.properties?.correlationData;
    await c
      .publishAsync(packet.properties?.responseTopic ?? '', a.data, {
        qos,
        properties: {
          ...(corr ? { correlationData: corr } : {}),
          ...(Object.keys(userProperties).length ? { userProperties } : {}),
        },
      })
      .catch((err: unknown) => {
        throw mqttError(err, packet.properties?.responseTopic ?? '', 'publish');
      });
    answered += 1;
    if (output.options.verbose) output.verbose(output.c.dim(`#${seq}: replied ${a.data.byteLength} bytes`));
  };

  const onMessage: MqttClient['handleMessage'] = (packet, callback) => {
    callback(); // acknowledged on receipt: a responder's answer is the reply, not the ack
    if (values.count !== undefined && toAnswer >= values.count) return; // past --count
    const c = client;
    if (!c) return;
    n += 1;
    const seq = n;
    printer.print(packet, seq);
    const responseTopic = packet.properties?.responseTopic;
    const fate = !responseTopic
      ? 'no-reply'
      : seq <= values.failFirst || (failRate > 0 && Math.random() < failRate)
        ? 'drop'
        : 'answer';
    if (fate === 'answer') toAnswer += 1;
    if (fate === 'answer' && responseTopic && immediate && !ctx.signal.aborted) {
      try {
        replyNow(c, packet, responseTopic, seq);
      } catch (err) {
        output.error({ message: `#${seq}: ${(err as Error).message}` });
      }
      return;
    }
    const task = handle(c, packet, seq, fate).catch((err: unknown) =>
      output.error({ message: `#${seq}: ${(err as Error).message}` }),
    );
    inflight.add(task);
    void task.finally(() => {
      inflight.delete(task);
      if (values.count !== undefined && answered >= values.count) done();
    });
  };

  try {
    client = await connectMqtt(endpoint, ctx.signal, (c) => {
      c.handleMessage = onMessage;
    });
    client.on('close', () => {
      if (!interrupted && !(values.count !== undefined && answered >= values.count))
        failure ??= new ConnectError(`the connection to ${endpoint.display} closed`, {
          code: 'COMMS_ERR_MQTT_CLOSED',
        });
      done();
    });
    const grants = await client.subscribeAsync(topic, { qos }).catch((err: unknown) => {
      throw mqttError(err, topic, 'subscribe');
    });
    const granted = grants[0]?.qos;
    if (granted !== undefined && granted >= 0x80) throw mqttError({ code: granted }, topic, 'subscribe');
    const mode =
      values.exec !== undefined ? `exec '${values.exec}'` : body !== undefined ? 'fixed body' : 'echo';
    // With --json, stderr stays quiet unless -v (which also says when the responder is ready).
    (output.options.json ? output.verbose : output.info).call(
      output,
      output.c.dim(
        `replying on '${topic}' at ${endpoint.display}: ${mode}` +
          `${delayMs ? `, delay ${output.ms(delayMs)}` : ''}${values.failFirst ? `, dropping the first ${values.failFirst}` : ''}${failRate ? `, dropping ${Math.round(failRate * 100)}%` : ''}`,
      ),
    );
    await finished;
    await Promise.all(inflight);
    if (publishing > 0)
      await new Promise<void>((resolve) => {
        onIdle = resolve;
      });
    await printer.drained();
  } finally {
    ctx.signal.removeEventListener('abort', onInterrupt);
    await closeMqtt(client);
  }
  if (failure) throw failure;
  if (!output.options.quiet)
    output.err.write(
      `${output.c.dim(`${topic}: ${n} request${n === 1 ? '' : 's'}, ${answered} answered, ${dropped} dropped`)}\n`,
    );
  return interrupted ? ExitCode.interrupted : ExitCode.ok;
}
