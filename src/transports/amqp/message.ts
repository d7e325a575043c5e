import type { ConsumeMessage, Message } from 'amqplib';
import type { HeaderRecord, StreamMessage } from '../../output/stream-message.js';

/** AMQP headers as the contract shows them: strings (buffers as text, other values as JSON). */
export function headersOf(msg: Message): HeaderRecord | undefined {
  const raw = msg.properties.headers as Record<string, unknown> | undefined;
  if (!raw) return undefined;
  const out: HeaderRecord = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(headerText) : headerText(v);
  }
  return Object.keys(out).length ? out : undefined;
}

function headerText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** The basic properties that are set, by their AMQP names (`content-type`, `correlation-id`...). */
export function propertiesOf(msg: Message): Record<string, string> {
  const p = msg.properties;
  const out: Record<string, string> = {};
  const put = (name: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') out[name] = String(v);
  };
  put('content-type', p.contentType);
  put('content-encoding', p.contentEncoding);
  put('correlation-id', p.correlationId);
  put('message-id', p.messageId);
  put('reply-to', p.replyTo);
  put('expiration', p.expiration);
  put('priority', p.priority);
  if (p.deliveryMode === 2) put('delivery-mode', 2);
  put('type', p.type);
  put('app-id', p.appId);
  put('user-id', p.userId);
  if (typeof p.timestamp === 'number') put('timestamp', new Date(p.timestamp * 1000).toISOString());
  return out;
}

/** A delivered message in the contract's stream shape. */
export function streamMessage(queue: string, msg: ConsumeMessage): StreamMessage {
  const f = msg.fields;
  const notes = [
    ...(f.exchange ? [`exchange ${f.exchange}`] : []),
    ...(f.routingKey && f.routingKey !== queue ? [`routing key ${f.routingKey}`] : []),
    ...(f.redelivered ? ['redelivered'] : []),
  ];
  return {
    where: 'queue',
    name: queue,
    headers: headersOf(msg),
    data: msg.content,
    properties: propertiesOf(msg),
    notes,
    extra: {
      exchange: f.exchange,
      routingKey: f.routingKey,
      ...(f.redelivered ? { redelivered: true } : {}),
    },
  };
}
