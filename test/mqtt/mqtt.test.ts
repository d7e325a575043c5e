import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerAnswers, brokerUp } from '../kit/brokers.js';
import { ndjson as lines } from '../kit/ndjson.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/**
 * End-to-end against the machine's Mosquitto (127.0.0.1:1883). Topics live under this run's prefix;
 * retained messages the tests leave are cleared afterwards.
 */
const PREFIX = `cc-test/${process.pid}-${Date.now().toString(36)}`;
const topic = (what: string) => `${PREFIX}/${what}`;

const up = await brokerUp('Mosquitto');

describe.skipIf(!up)('mqtt (Mosquitto)', () => {
  let client: MqttClient;
  const retained: string[] = [];

  beforeAll(async () => {
    client = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { protocolVersion: 5, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    killSurvivors();
    for (const t of retained) await client.publishAsync(t, '', { retain: true, qos: 1 });
    await client.endAsync();
  });

  it('QoS 1 publish is acknowledged; subscribe prints the contract shape with user properties', async () => {
    const sub = startCli(['mqtt', 'subscribe', topic('q1/+'), '--qos', '1', '--count', '3', '--json', '-v']);
    await sub.waitFor(/subscribed to/, 'stderr');
    const pub = await runCli([
      'mqtt',
      'publish',
      topic('q1/{{seq}}'),
      '{"n":{{seq}}}',
      '--qos',
      '1',
      '--count',
      '3',
      '-H',
      'trace: t-{{seq}}',
    ]);
    expect(pub.code).toBe(0);
    expect(pub.stderr).toContain('published 3 messages');
    expect(pub.stderr).toContain('acknowledged, QoS 1');
    expect((await sub.exited).code).toBe(0);
    const msgs = lines(sub.stdout());
    expect(msgs).toHaveLength(3);
    expect(msgs[0]).toMatchObject({
      type: 'message',
      transport: 'mqtt',
      n: 1,
      topic: topic('q1/1'),
      headers: { trace: 't-1' },
      data: { n: 1 },
      encoding: 'json',
      size: 7,
      qos: 1,
      retained: false,
    });
  });

  it('retained messages reach a later subscriber, marked; --no-retained skips them', async () => {
    const t = topic('retained');
    retained.push(t);
    const pub = await runCli(['mqtt', 'publish', t, 'kept', '--retain', '--qos', '1']);
    expect(pub.code).toBe(0);
    const sub = await runCli(['mqtt', 'subscribe', t, '--count', '1', '--json', '--timeout', '10s']);
    expect(sub.code).toBe(0);
    expect(lines(sub.stdout)[0]).toMatchObject({ topic: t, data: 'kept', retained: true });
    const human = await runCli(['mqtt', 'subscribe', t, '--count', '1', '--timeout', '10s']);
    expect(human.stdout).toContain('retained');
    const skip = await runCli(['mqtt', 'subscribe', t, '--no-retained', '--timeout', '1s']);
    expect(skip.code).toBe(4);
    expect(skip.stdout).toBe('');
  });

  it('QoS 1 with a persistent session: messages published while the subscriber is away are delivered later', async () => {
    const t = topic('session');
    const id = `cc-test-session-${process.pid}`;
    const session = ['--client-id', id, '--no-clean', '--qos', '1'];
    const first = await runCli(['mqtt', 'subscribe', t, ...session, '--timeout', '2s']);
    expect(first.code).toBe(4); // nothing yet: the session now exists
    const pub = await runCli(['mqtt', 'publish', t, 'while-away-{{seq}}', '--qos', '1', '--count', '2']);
    expect(pub.code).toBe(0);
    const back = await runCli([
      'mqtt',
      'subscribe',
      t,
      ...session,
      '--count',
      '2',
      '--json',
      '--timeout',
      '10s',
    ]);
    expect(back.code).toBe(0);
    expect(lines(back.stdout).map((m) => m.data)).toEqual(['while-away-1', 'while-away-2']);
    // End the session so the broker forgets it.
    const c = await mqtt.connectAsync('mqtt://127.0.0.1:1883', {
      clientId: id,
      clean: true,
      reconnectPeriod: 0,
    });
    await c.endAsync();
  });

  it('request over MQTT 5 response topic and correlation data; no responder is exit 4', async () => {
    const svc = topic('svc/echo');
    await client.subscribeAsync(svc, { qos: 1 });
    const onMessage = (t: string, payload: Buffer, packet: mqtt.IPublishPacket) => {
      if (t !== svc || !packet.properties?.responseTopic) return;
      void client.publishAsync(
        packet.properties.responseTopic,
        Buffer.concat([Buffer.from('echo:'), payload]),
        {
          qos: 1,
          properties: {
            ...(packet.properties.correlationData
              ? { correlationData: packet.properties.correlationData }
              : {}),
            userProperties: { responder: 'test' },
          },
        },
      );
    };
    client.on('message', onMessage);
    try {
      const r = await runCli(['mqtt', 'request', svc, 'ping', '--qos', '1', '--json', '--timeout', '10s']);
      expect(r.code).toBe(0);
      expect(lines(r.stdout)[0]).toMatchObject({
        transport: 'mqtt',
        operation: 'request',
        ok: true,
        data: 'echo:ping',
        headers: { responder: 'test' },
      });
      const load = await runCli(['mqtt', 'request', svc, 'n{{seq}}', '-n', '20', '-c', '4', '--json']);
      expect(load.code).toBe(0);
      expect(lines(load.stdout).at(-1)).toMatchObject({ type: 'summary', requests: 20, errors: 0 });
    } finally {
      client.off('message', onMessage);
      await client.unsubscribeAsync(svc);
    }
    const none = await runCli(['mqtt', 'request', topic('svc/nobody'), 'x', '--timeout', '1500ms']);
    expect(none.code).toBe(4);
  });

  it('load mode publishes at QoS 1 and reports a summary', async () => {
    const r = await runCli([
      'mqtt',
      'publish',
      topic('load'),
      'p{{seq}}',
      '--qos',
      '1',
      '-n',
      '50',
      '-c',
      '5',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).at(-1)).toMatchObject({ type: 'summary', requests: 50, errors: 0 });
  });

  it('an unreachable broker is exit 3', async () => {
    const r = await runCli(['mqtt', 'publish', 'a/b', 'x', '--url', 'mqtt://127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('connection refused');
  });

  it('bad input is one line, exit 2, nothing sent', async () => {
    const cases: string[][] = [
      ['mqtt', 'subscribe', 'a/#/b'],
      ['mqtt', 'subscribe', 'a/b#'],
      ['mqtt', 'subscribe', 'a+/b'],
      ['mqtt', 'publish', topic('bad/+'), 'x'],
      ['mqtt', 'publish', topic('bad'), 'x', '--qos', '3'],
      ['mqtt', 'publish', topic('bad'), 'x', '--url', 'http://127.0.0.1:1883'],
      ['mqtt', 'publish', topic('bad'), 'x', '--url', 'mqtt://'],
      ['mqtt', 'publish', topic('bad'), 'x', '--mqtt-version', '3.1.1', '-H', 'a: b'],
      ['mqtt', 'request', topic('bad'), 'x', '--mqtt-version', '3.1.1'],
      ['mqtt', 'subscribe', topic('bad'), '--no-clean'],
    ];
    for (const argv of cases) {
      const r = await runCli(argv, { timeoutMs: 20_000 });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(
        r.stderr.split('\n').filter((l) => l.startsWith('error:')),
        argv.join(' '),
      ).toHaveLength(1);
    }
  });

  describe('a broker that refuses the connection (private mosquitto, no anonymous access)', () => {
    let broker: ChildProcess | undefined;
    let dir = '';
    let port = 0;
    const hasMosquitto = spawnSync('mosquitto', ['-h']).error === undefined;

    beforeAll(async () => {
      if (!hasMosquitto) return;
      dir = mkdtempSync(join(tmpdir(), 'cc-mosq-'));
      port = await new Promise<number>((resolve) => {
        const s = net.createServer().listen(0, '127.0.0.1', () => {
          const p = (s.address() as net.AddressInfo).port;
          s.close(() => resolve(p));
        });
      });
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous false\npersistence false\n`);
      broker = spawn('mosquitto', ['-c', conf], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !(await brokerAnswers(port)); i++)
        await new Promise((r) => setTimeout(r, 100));
    });

    afterAll(() => {
      broker?.kill('SIGTERM');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it.skipIf(!hasMosquitto)(
      'CONNACK refused is exit 3 with the reason named; the password is not shown',
      async () => {
        const r = await runCli([
          'mqtt',
          'publish',
          'a/b',
          'x',
          '--url',
          `mqtt://127.0.0.1:${port}`,
          '--username',
          'u',
          '--password',
          'sekrit-pw',
          '--json',
        ]);
        expect(r.code).toBe(3);
        expect(r.stderr).toMatch(/refused the connection: (Not authorized|Bad User Name or Password)/);
        expect(r.stdout).toContain('COMMS_ERR_MQTT_CONNACK');
        expect(r.stdout + r.stderr).not.toContain('sekrit-pw');
        const v3 = await runCli([
          'mqtt',
          'subscribe',
          'a/b',
          '--url',
          `mqtt://127.0.0.1:${port}`,
          '--mqtt-version',
          '3.1.1',
        ]);
        expect(v3.code).toBe(3);
        expect(v3.stderr).toContain('CONNACK');
      },
    );
  });

  const hasClients = spawnSync('mosquitto_pub', ['--help']).error === undefined;
  it.skipIf(!hasClients)(
    'interoperates with the C clients (mosquitto_pub / mosquitto_sub) both ways',
    async () => {
      const t = topic('interop');
      const sub = startCli(['mqtt', 'subscribe', t, '--count', '1', '--json', '-v']);
      await sub.waitFor(/subscribed to/, 'stderr');
      await new Promise<void>((resolve, reject) =>
        execFile(
          'mosquitto_pub',
          [
            '-h',
            '127.0.0.1',
            '-t',
            t,
            '-m',
            'from-c',
            '-q',
            '1',
            '-V',
            '5',
            '-D',
            'publish',
            'user-property',
            'origin',
            'c',
          ],
          (err) => (err ? reject(err) : resolve()),
        ),
      );
      expect((await sub.exited).code).toBe(0);
      expect(lines(sub.stdout())[0]).toMatchObject({ data: 'from-c', headers: { origin: 'c' } });

      const received = new Promise<string>((resolve, reject) =>
        execFile('mosquitto_sub', ['-h', '127.0.0.1', '-t', t, '-C', '1', '-W', '15'], (err, stdout) =>
          err ? reject(err) : resolve(stdout),
        ),
      );
      // mosquitto_sub subscribes asynchronously: publish retained so it gets the message whenever it is ready.
      retained.push(t);
      const pub = await runCli(['mqtt', 'publish', t, 'from-comms-cli', '--qos', '1', '--retain']);
      expect(pub.code).toBe(0);
      expect(await received).toBe('from-comms-cli\n');
    },
  );
  if (!hasClients) console.warn('mosquitto-clients not installed: MQTT interop test skipped');
});
