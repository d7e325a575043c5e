import { parseHeader, readPayload } from '../../core/input.js';
import { expandTemplate, hasTemplate } from '../../core/template.js';
import { UsageError } from '../../errors/comms-error.js';
import type { OutgoingMqtt } from './call.js';
import { qosLevel } from './flags.js';
import { validateTopic } from './topic.js';

export interface MessageValues {
  data: string | undefined;
  header: string[];
  qos: '0' | '1' | '2';
  contentType: string | undefined;
}

/** Builds the n-th message (templates in topic, payload, user properties), checking everything first. */
export async function messageMaker(
  topicTemplate: string,
  values: MessageValues,
  payloadArg: string | undefined,
  stdin: NodeJS.ReadableStream,
  { lines = false, retain = false, version }: { lines?: boolean; retain?: boolean; version: 4 | 5 },
): Promise<(seq: number, data?: Buffer) => OutgoingMqtt> {
  validateTopic(expandTemplate(topicTemplate, 1), { filter: false });
  if (payloadArg !== undefined && values.data !== undefined)
    throw new UsageError('give the payload either as an argument or with -d, not both');
  if (lines && (payloadArg !== undefined || values.data !== undefined))
    throw new UsageError('--lines reads the payloads from stdin: drop the payload argument and -d');
  const headers = values.header.map((h) => parseHeader(h, '-H'));
  if (version !== 5 && (headers.length || values.contentType !== undefined))
    throw new UsageError('-H user properties and --content-type need MQTT 5 (drop --mqtt-version 3.1.1)');
  const spec = values.data ?? payloadArg;
  const payload =
    spec === undefined
      ? Buffer.alloc(0)
      : await readPayload(spec, values.data !== undefined ? '-d' : 'payload', stdin);
  const payloadText = hasTemplate(payload.toString('utf8')) ? payload.toString('utf8') : undefined;
  const qos = qosLevel(values.qos);
  if (
    payloadText === undefined &&
    !hasTemplate(topicTemplate) &&
    !headers.some(([k, v]) => hasTemplate(k) || hasTemplate(v))
  ) {
    // Nothing to expand: every message is the same one (mqtt.js copies the options it is given), so a
    // --count batch builds no objects per message. With --lines only the payload differs.
    const properties = {
      ...(headers.length ? { userProperties: Object.fromEntries(headers) } : {}),
      ...(values.contentType !== undefined ? { contentType: values.contentType } : {}),
    };
    const options = { qos, retain, ...(Object.keys(properties).length ? { properties } : {}) };
    const same: OutgoingMqtt = { topic: topicTemplate, payload, options };
    return (_seq, data) => (data !== undefined ? { topic: topicTemplate, payload: data, options } : same);
  }
  return (seq, data) => {
    const now = new Date();
    const x = (t: string) => expandTemplate(t, seq, now);
    const topic = x(topicTemplate);
    if (topic !== topicTemplate) validateTopic(topic, { filter: false });
    const properties = {
      ...(headers.length
        ? { userProperties: Object.fromEntries(headers.map(([k, v]) => [x(k), x(v)])) }
        : {}),
      ...(values.contentType !== undefined ? { contentType: values.contentType } : {}),
    };
    return {
      topic,
      payload: data ?? (payloadText !== undefined ? Buffer.from(x(payloadText)) : payload),
      options: { qos, retain, ...(Object.keys(properties).length ? { properties } : {}) },
    };
  };
}
