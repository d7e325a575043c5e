import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { brokerUp } from '../kit/brokers.js';
import { ndjson as lines } from '../kit/ndjson.js';
import { refusedAddress, silentPeer } from '../kit/peers.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/**
 * `events dispatch` to ws://, amqp:// and mqtt:// handlers, end to end: the machine's RabbitMQ
 * (127.0.0.1:5672 guest/guest) and Mosquitto (127.0.0.1:1883) with names unique to this run (deleted
 * afterwards), `comms-cli serve ws` and a node `ws` server. What counts as handled, what stops the run
 * (exit 3, checkpoint kept), and bad handler URLs (exit 2, no store created).
 */
const SLOW = 90_000;
const RUN = `cc-dispatch-${process.pid}-${Date.now().toString(36)}`;

const rabbit = await brokerUp('RabbitMQ');
const mosquitto = await brokerUp('Mosquitto');

// No afterEach(killSurvivors): it would also end the `serve ws` the ws tests share; the only
// long-running processes are that server and the ones afterAll ends.
let tmp: string;
let seq = 0;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'comms-dispatch-brokers-'));
});
afterAll(() => {
  killSurvivors();
  rmSync(tmp, { recursive: true, force: true });
});

function dir(): string {
  seq += 1;
  return join(tmp, `store-${seq}`);
}

/** A store holding n events of aggregate `agg`, and the --store args for it. */
async function storeWith(n: number, agg = 'order-1'): Promise<string[]> {
  const store = ['--store', dir()];
  const input = Array.from({ length: n }, (_, i) => JSON.stringify({ n: i + 1 })).join('\n');
  const r = await runCli(['events', 'append', agg, 'Placed', '--lines', ...store], { input: `${input}\n` });
  expect(r.code, r.stderr).toBe(0);
  return store;
}

interface Summary {
  type: string;
  handled: number;
  deadLettered: number;
  position: number;
  stopped?: string;
  handler: string;
}
const summaryOf = (stdout: string) => lines<Summary>(stdout).at(-1) as Summary;

describe.skipIf(!rabbit)('amqp:// handlers (RabbitMQ)', () => {
  let conn: ChannelModel;
  let ch: Channel;
  const queues: string[] = [];
  const exchanges: string[] = [];

  beforeAll(async () => {
    conn = await amqp.connect('amqp://guest:guest@127.0.0.1:5672/');
    ch = await conn.createChannel();
  });
  afterAll(async () => {
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    for (const x of exchanges) await ch.deleteExchange(x).catch(() => undefined);
    await conn.close();
  });

  it(
    '?queue=Q: each event is a confirmed, persistent message; message id = event id; headers carry the fields',
    async () => {
      const q = `${RUN}.handled`;
      queues.push(q);
      await ch.assertQueue(q, { durable: false });
      const store = await storeWith(3);
      const r = await runCli([
        'events',
        'dispatch',
        '--to',
        `amqp://guest:guest@127.0.0.1:5672/?queue=${q}`,
        '--checkpoint',
        'billing',
        '--json',
        ...store,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const out = lines<Record<string, unknown>>(r.stdout);
      expect(out.slice(0, 3).map((d) => [d.transport, d.outcome, d.status])).toEqual([
        ['amqp', 'handled', 'confirmed'],
        ['amqp', 'handled', 'confirmed'],
        ['amqp', 'handled', 'confirmed'],
      ]);
      expect(summaryOf(r.stdout)).toMatchObject({ handled: 3, position: 3 });
      // The password is redacted in the JSON lines and the summary.
      expect(r.stdout).not.toContain('guest:guest');
      expect(summaryOf(r.stdout).handler).toContain('[REDACTED]');
      const got: Array<{ id: string; headers: Record<string, unknown>; persistent: number }> = [];
      for (let i = 0; i < 3; i++) {
        const m = await ch.get(q, { noAck: true });
        if (m === false) break;
        const body = JSON.parse(m.content.toString('utf8')) as { id: string; data: { n: number } };
        expect(m.properties.messageId).toBe(body.id);
        got.push({ id: body.id, headers: m.properties.headers ?? {}, persistent: m.properties.deliveryMode });
      }
      expect(got).toHaveLength(3);
      expect(got[0]?.headers).toMatchObject({
        'comms-event-type': 'Placed',
        'comms-event-aggregate': 'order-1',
        'comms-event-version': '1',
        'comms-event-position': '1',
      });
      expect(got[0]?.persistent).toBe(2);
    },
    SLOW,
  );

  it(
    '?exchange=X&routing-key=K with nothing bound: unroutable stops the run (exit 3, checkpoint kept); bound later, a re-run delivers all; --dead-letter-unreachable parks',
    async () => {
      const x = `${RUN}.x`;
      exchanges.push(x);
      await ch.assertExchange(x, 'topic', { durable: false, autoDelete: false });
      const store = await storeWith(2);
      const to = `amqp://guest:guest@127.0.0.1:5672/?exchange=${x}&routing-key=orders.placed`;
      const first = await runCli(['events', 'dispatch', '--to', to, '--checkpoint', 'c', '--json', ...store]);
      expect(first.code, first.stderr).toBe(3);
      expect(summaryOf(first.stdout)).toMatchObject({
        stopped: 'unreachable',
        handled: 0,
        deadLettered: 0,
        position: 0,
      });
      expect(first.stdout).toContain('COMMS_ERR_AMQP_NO_ROUTE');

      const parked = await runCli([
        'events',
        'dispatch',
        '--to',
        to,
        '--from',
        '0',
        '--dead-letter-unreachable',
        ...store,
      ]);
      expect(parked.code).toBe(1);
      expect(parked.stderr).toMatch(/2 dead-lettered/);

      // ?mandatory=false: the broker's confirm alone is enough.
      const loose = await runCli([
        'events',
        'dispatch',
        '--to',
        `${to}&mandatory=false`,
        '--from',
        '0',
        ...store,
      ]);
      expect(loose.code, loose.stderr).toBe(0);

      const q = `${RUN}.bound`;
      queues.push(q);
      await ch.assertQueue(q, { durable: false });
      await ch.bindQueue(q, x, 'orders.*');
      const again = await runCli(['events', 'dispatch', '--to', to, '--checkpoint', 'c', '--json', ...store]);
      expect(again.code, again.stderr).toBe(0);
      expect(summaryOf(again.stdout)).toMatchObject({ handled: 2, position: 2 });
      expect((await ch.checkQueue(q)).messageCount).toBe(2);
    },
    SLOW,
  );

  it(
    'a missing queue, a closed port and a silent peer are unreachable: the run stops, the checkpoint stays',
    async () => {
      const store = await storeWith(1);
      const missing = await runCli([
        'events',
        'dispatch',
        '--to',
        `amqp://guest:guest@127.0.0.1:5672/?queue=${RUN}.nobody-declared-this`,
        '--checkpoint',
        'c',
        ...store,
      ]);
      expect(missing.code).toBe(3);
      expect(missing.stderr).toMatch(/no queue '.*nobody-declared-this'/);
      expect(missing.stderr).toMatch(/position 0 \(checkpoint c\) · stopped: unreachable/);

      const closed = await refusedAddress();
      const refused = await runCli([
        'events',
        'dispatch',
        '--to',
        `amqp://guest:secret-pw@${closed}/?queue=q`,
        '--checkpoint',
        'c',
        '--retries',
        '1',
        '--backoff',
        '10ms',
        '--json',
        ...store,
      ]);
      expect(refused.code).toBe(3);
      expect(summaryOf(refused.stdout)).toMatchObject({ stopped: 'unreachable', position: 0 });
      expect(refused.stdout + refused.stderr).not.toContain('secret-pw');

      const silent = await silentPeer();
      try {
        const hung = await runCli([
          'events',
          'dispatch',
          '--to',
          `amqp://guest:guest@${silent.addr}/?queue=q`,
          '--checkpoint',
          'c',
          '--timeout',
          '1s',
          ...store,
        ]);
        expect(hung.code).toBe(4);
        expect(hung.stderr).toMatch(/connect timed out/);
        expect(hung.stderr).toMatch(/stopped: unreachable/);
      } finally {
        await silent.close();
      }
    },
    SLOW,
  );
});

describe.skipIf(!mosquitto)('mqtt:// handlers (Mosquitto)', () => {
  let client: MqttClient;
  beforeAll(async () => {
    client = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { protocolVersion: 5, reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await client.endAsync();
  });

  it(
    'QoS 1 (PUBACK) to a subscribed topic: handled, with the event fields in user properties',
    async () => {
      const topic = `cc-test/${RUN}/events`;
      const received: Array<{ payload: string; props: Record<string, unknown>; qos: number }> = [];
      const onMessage = (t: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
        if (t === topic)
          received.push({
            payload: payload.toString('utf8'),
            props: (packet.properties?.userProperties ?? {}) as Record<string, unknown>,
            qos: packet.qos,
          });
      };
      client.on('message', onMessage);
      await client.subscribeAsync(topic, { qos: 1 });
      try {
        const store = await storeWith(2, 'meter-7');
        const r = await runCli([
          'events',
          'dispatch',
          '--to',
          `mqtt://127.0.0.1:1883/${encodeURIComponent(topic)}`,
          '--checkpoint',
          'm',
          '--json',
          ...store,
        ]);
        expect(r.code, r.stderr).toBe(0);
        const out = lines<Record<string, unknown>>(r.stdout);
        expect(out[0]).toMatchObject({
          transport: 'mqtt',
          outcome: 'handled',
          status: 'acknowledged',
          qos: 1,
        });
        expect(summaryOf(r.stdout)).toMatchObject({ handled: 2, position: 2 });
        await expect.poll(() => received.length, { timeout: 15_000 }).toBe(2);
        expect(received[0]?.props).toMatchObject({
          'comms-event-type': 'Placed',
          'comms-event-aggregate': 'meter-7',
          'comms-event-version': '1',
        });
        expect(JSON.parse(received[1]?.payload ?? '{}')).toMatchObject({ version: 2, data: { n: 2 } });

        const q2 = await runCli([
          'events',
          'dispatch',
          '--to',
          `mqtt://127.0.0.1:1883/${encodeURIComponent(topic)}?qos=2`,
          '--from',
          '1',
          '--json',
          ...store,
        ]);
        expect(q2.code, q2.stderr).toBe(0);
        expect(lines<Record<string, unknown>>(q2.stdout)[0]).toMatchObject({ qos: 2, outcome: 'handled' });
      } finally {
        client.off('message', onMessage);
        await client.unsubscribeAsync(topic);
      }
    },
    SLOW,
  );

  it(
    'no subscriber (PUBACK reason 16) and a closed port stop the run with exit 3, checkpoint kept; ?mandatory=false takes the PUBACK alone',
    async () => {
      const store = await storeWith(1);
      const to = `mqtt://127.0.0.1:1883/cc-test/${RUN}/nobody`;
      const none = await runCli(['events', 'dispatch', '--to', to, '--checkpoint', 'n', '--json', ...store]);
      expect(none.code).toBe(3);
      expect(summaryOf(none.stdout)).toMatchObject({ stopped: 'unreachable', position: 0 });
      expect(none.stdout).toContain('COMMS_ERR_MQTT_NO_SUBSCRIBERS');

      const closed = await refusedAddress();
      const refused = await runCli([
        'events',
        'dispatch',
        '--to',
        `mqtt://user:secret-pw@${closed}/t`,
        '--checkpoint',
        'n',
        '--json',
        ...store,
      ]);
      expect(refused.code).toBe(3);
      expect(summaryOf(refused.stdout)).toMatchObject({ stopped: 'unreachable', position: 0 });
      expect(refused.stdout + refused.stderr).not.toContain('secret-pw');

      const loose = await runCli([
        'events',
        'dispatch',
        '--to',
        `${to}?mandatory=false`,
        '--checkpoint',
        'n',
        '--json',
        ...store,
      ]);
      expect(loose.code, loose.stderr).toBe(0);
      expect(summaryOf(loose.stdout)).toMatchObject({ handled: 1, position: 1 });
    },
    SLOW,
  );
});

describe('ws:// handlers', () => {
  let serve: CliProcess;
  let base = '';
  let wss: WebSocketServer;
  let wsPort = 0;
  const seen: string[] = [];

  beforeAll(async () => {
    serve = startCli(['serve', 'ws', '--port', '0']);
    base = (await serve.waitFor(/^(ws:\/\/\S+)\n/))[1] ?? '';
    // A handler that greets on connect (ignored), answers {"ok":false} to events of type Bad, and
    // answers {"ok":true} to the rest; it records what it got.
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (socket, req) => {
      seen.push(`auth:${req.headers.authorization ?? ''}`);
      socket.send('hello');
      socket.on('message', (data) => {
        const event = JSON.parse(data.toString()) as { type: string; id: string };
        seen.push(event.type);
        socket.send(
          JSON.stringify(event.type === 'Bad' ? { ok: false, error: 'cannot bill' } : { ok: true }),
        );
      });
    });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    wsPort = (wss.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    serve.kill('SIGINT');
    await serve.exited;
    await new Promise((resolve) => wss.close(resolve));
  });

  it(
    'the echo server answers every event: handled; credentials in the URL are sent as Basic auth and redacted',
    async () => {
      const store = await storeWith(3);
      const url = new URL(base);
      const r = await runCli([
        'events',
        'dispatch',
        '--to',
        `ws://user:secret-pw@${url.host}/echo`,
        '--checkpoint',
        'w',
        '--json',
        ...store,
      ]);
      expect(r.code, r.stderr).toBe(0);
      const out = lines<Record<string, unknown>>(r.stdout);
      expect(out[0]).toMatchObject({ transport: 'ws', outcome: 'handled', status: 'answered' });
      expect(out[0]).toMatchObject({ data: { type: 'Placed' } });
      expect(summaryOf(r.stdout)).toMatchObject({ handled: 3, position: 3 });
      expect(r.stdout + r.stderr).not.toContain('secret-pw');
    },
    SLOW,
  );

  it(
    'an {"ok":false} answer is a failure (dead-lettered, exit 1); a greeting is not taken for an answer',
    async () => {
      const store = ['--store', dir()];
      for (const type of ['Good', 'Bad', 'Good'])
        expect((await runCli(['events', 'append', 'a-1', type, ...store])).code).toBe(0);
      seen.length = 0;
      const r = await runCli([
        'events',
        'dispatch',
        '--to',
        `ws://bob:pw@127.0.0.1:${wsPort}/`,
        '--checkpoint',
        'w',
        '--json',
        ...store,
      ]);
      expect(r.code, r.stderr).toBe(1);
      expect(
        lines<{ outcome?: string }>(r.stdout)
          .slice(0, 3)
          .map((d) => d.outcome),
      ).toEqual(['handled', 'dead-lettered', 'handled']);
      expect(r.stdout).toContain('the handler answered with a failure: cannot bill');
      expect(seen).toEqual([`auth:Basic ${Buffer.from('bob:pw').toString('base64')}`, 'Good', 'Bad', 'Good']);
      const letters = await runCli(['events', 'dead-letters', '--checkpoint', 'w', '--json', ...store]);
      expect(lines<{ event: { type: string } }>(letters.stdout).map((l) => l.event.type)).toEqual(['Bad']);
    },
    SLOW,
  );

  it(
    'no answer within --timeout is a failure; a closed port stops the run (exit 3) with the checkpoint kept',
    async () => {
      const store = await storeWith(1);
      const silentTicker = `${base}/ticker?every=1h`;
      const quiet = await runCli(['events', 'dispatch', '--to', silentTicker, '--timeout', '2s', ...store]);
      expect(quiet.code, quiet.stderr).toBe(1);
      expect(quiet.stderr).toMatch(/no answer from .* in time/);

      const closed = await refusedAddress();
      const down = await runCli([
        'events',
        'dispatch',
        '--to',
        `ws://${closed}/`,
        '--checkpoint',
        'd',
        '--json',
        ...store,
      ]);
      expect(down.code).toBe(3);
      expect(summaryOf(down.stdout)).toMatchObject({ stopped: 'unreachable', position: 0 });
      const up = await runCli([
        'events',
        'dispatch',
        '--to',
        `${base}/echo`,
        '--checkpoint',
        'd',
        '--json',
        ...store,
      ]);
      expect(summaryOf(up.stdout)).toMatchObject({ handled: 1, position: 1 });
    },
    SLOW,
  );
});

describe('bad handler URLs', () => {
  it.each([
    ['amqp://127.0.0.1:5672/'], // neither queue nor exchange
    ['amqp://127.0.0.1:5672/?queue=a&exchange=b'],
    ['amqp://127.0.0.1:5672/?queue=a&routing-key=k'],
    ['amqp://127.0.0.1:5672/?queue='],
    ['amqp://127.0.0.1:5672/?queue=a&mandatory=maybe'],
    ['amqp://127.0.0.1:5672/?queue=a&colour=blue'],
    [`amqp://127.0.0.1:5672/?queue=${'q'.repeat(300)}`],
    ['amqp://:5672/?queue=a'],
    ['mqtt://127.0.0.1:1883'], // no topic
    ['mqtt://127.0.0.1:1883/a/+/b'],
    ['mqtt://127.0.0.1:1883/a/#'],
    ['mqtt://127.0.0.1:1883/a?qos=0'],
    ['mqtt://127.0.0.1:1883/a?qos=3'],
    ['mqtt://127.0.0.1:1883/a?retain=true'],
    ['ws://127.0.0.1:1/x#frag'],
    ['ws://'],
  ])('--to %s → exit 2, one error line, no store created', async (to) => {
    const where = dir();
    const r = await runCli(['events', 'dispatch', '--to', to, '--store', where]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(existsSync(where)).toBe(false);
  });
});
