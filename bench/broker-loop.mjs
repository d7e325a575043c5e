// Minimal amqplib and mqtt.js clients, for comparison with comms-cli on the same client libraries.
//   node bench/broker-loop.mjs amqp-publish URL QUEUE COUNT          (confirm channel, all confirmed)
//   node bench/broker-loop.mjs amqp-request URL QUEUE REQUESTS CONC  (direct reply-to)
//   node bench/broker-loop.mjs amqp-reply   URL QUEUE PREFETCH       (echo responder; prints "ready", then each payload)
//   node bench/broker-loop.mjs mqtt-publish URL TOPIC COUNT          (QoS 1, all PUBACKed)
//   node bench/broker-loop.mjs mqtt-request URL TOPIC REQUESTS CONC  (MQTT 5 response topic)
//   node bench/broker-loop.mjs mqtt-reply   URL TOPIC                (echo responder; prints "ready", then each payload)
// Each client mode prints {"requests", "rps"} on stdout.
import { randomUUID } from 'node:crypto';

const [mode, url, name, a = '10000', b = '50'] = process.argv.slice(2);
const payload = Buffer.from('hello');
const NEWLINE = Buffer.from('\n');
/** The responders print each request's payload on a line, as comms-cli's responders do with --raw. */
const print = (p) => process.stdout.write(p[p.length - 1] === 0x0a ? p : Buffer.concat([p, NEWLINE]));
const done = (n, t0) =>
  console.log(JSON.stringify({ requests: n, rps: Math.round(n / ((performance.now() - t0) / 1000)) }));

async function withPool(total, conc, fn) {
  let left = total;
  let ok = 0;
  const worker = async () => {
    while (left-- > 0) {
      await fn();
      ok += 1;
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  return ok;
}

if (mode.startsWith('amqp-')) {
  const amqp = (await import('amqplib')).default;
  const conn = await amqp.connect(url);
  const t0 = performance.now();
  if (mode === 'amqp-publish') {
    const ch = await conn.createConfirmChannel();
    const n = Number(a);
    for (let i = 0; i < n; i++) {
      if (!ch.publish('', name, payload)) await new Promise((r) => ch.once('drain', r));
    }
    await ch.waitForConfirms();
    done(n, t0);
    await conn.close();
  } else if (mode === 'amqp-request') {
    const ch = await conn.createConfirmChannel();
    const waiting = new Map();
    await ch.consume(
      'amq.rabbitmq.reply-to',
      (m) => {
        const w = waiting.get(m.properties.correlationId);
        if (w) {
          waiting.delete(m.properties.correlationId);
          w();
        }
      },
      { noAck: true },
    );
    const ok = await withPool(Number(a), Number(b), async () => {
      const id = randomUUID();
      const reply = new Promise((r) => waiting.set(id, r));
      ch.publish('', name, payload, { correlationId: id, replyTo: 'amq.rabbitmq.reply-to', mandatory: true });
      await reply;
    });
    done(ok, t0);
    await conn.close();
  } else if (mode === 'amqp-reply') {
    const ch = await conn.createChannel();
    await ch.prefetch(Number(b));
    await ch.consume(name, (m) => {
      // Prints each request's payload, as `comms-cli amqp reply --raw` does (like with like).
      print(m.content);
      ch.sendToQueue(m.properties.replyTo, m.content, { correlationId: m.properties.correlationId });
      ch.ack(m);
    });
    process.stdout.write('ready\n');
    // SIGTERM: closing the connection ends the consumer, and with it the process.
    process.on('SIGTERM', () => void conn.close());
  }
} else if (mode.startsWith('mqtt-')) {
  const mqtt = (await import('mqtt')).default;
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  const t0 = performance.now();
  if (mode === 'mqtt-publish') {
    const n = Number(a);
    const acks = [];
    for (let i = 0; i < n; i++) acks.push(client.publishAsync(name, payload, { qos: 1 }));
    await Promise.all(acks);
    done(n, t0);
    await client.endAsync();
  } else if (mode === 'mqtt-request') {
    const responseTopic = `bench/reply/${randomUUID()}`;
    const waiting = new Map();
    client.on('message', (_t, _p, packet) => {
      const id = packet.properties?.correlationData?.toString();
      const w = id && waiting.get(id);
      if (w) {
        waiting.delete(id);
        w();
      }
    });
    await client.subscribeAsync(responseTopic, { qos: 0 });
    const ok = await withPool(Number(a), Number(b), async () => {
      const id = randomUUID();
      const reply = new Promise((r) => waiting.set(id, r));
      await client.publishAsync(name, payload, {
        qos: 0,
        properties: { responseTopic, correlationData: Buffer.from(id) },
      });
      await reply;
    });
    done(ok, t0);
    await client.endAsync();
  } else if (mode === 'mqtt-reply') {
    client.on('message', (_t, p, packet) => {
      print(p);
      const rt = packet.properties?.responseTopic;
      if (!rt) return;
      client.publish(rt, p, {
        qos: 0,
        properties: packet.properties.correlationData
          ? { correlationData: packet.properties.correlationData }
          : {},
      });
    });
    await client.subscribeAsync(name, { qos: 0 });
    process.stdout.write('ready\n');
    process.on('SIGTERM', () => void client.endAsync());
  }
}
