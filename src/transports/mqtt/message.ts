import type { MqttClient } from 'mqtt';
import type { HeaderRecord, StreamMessage } from '../../output/stream-message.js';

export type PublishPacket = Parameters<MqttClient['handleMessage']>[0];

/** MQTT 5 user properties as the contract's headers. */
export function headersOf(packet: PublishPacket): HeaderRecord | undefined {
  const props = packet.properties?.userProperties;
  if (!props) return undefined;
  const out: HeaderRecord = {};
  for (const [k, v] of Object.entries(props)) out[k] = Array.isArray(v) ? v.map(String) : String(v);
  return Object.keys(out).length ? out : undefined;
}

/** A received message in the contract's stream shape; retained ones are marked. */
export function streamMessage(packet: PublishPacket): StreamMessage {
  const p = packet.properties;
  const properties: Record<string, string> = {};
  if (p?.contentType) properties['content-type'] = p.contentType;
  if (p?.responseTopic) properties['response-topic'] = p.responseTopic;
  if (p?.correlationData) properties['correlation-data'] = Buffer.from(p.correlationData).toString('utf8');
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
  return {
    where: 'topic',
    name: packet.topic,
    headers: headersOf(packet),
    data: payload,
    properties,
    notes: [
      `qos ${packet.qos}`,
      ...(packet.retain ? ['retained'] : []),
      ...(packet.dup ? ['duplicate'] : []),
    ],
    extra: { qos: packet.qos, retained: packet.retain, ...(packet.dup ? { dup: true } : {}) },
  };
}
