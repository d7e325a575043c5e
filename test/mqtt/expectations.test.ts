import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUp } from '../kit/brokers.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/*
 * The shared expectations on MQTT (the machine's Mosquitto, topics unique to this run):
 * `mqtt request` takes --expect-json/-body/-header (MQTT 5 user properties) over the reply;
 * `mqtt subscribe` takes --expect-count / --expect-message over the stream.
 */
const PREFIX = `cc-expect/${process.pid}-${Date.now().toString(36)}`;
const topic = (what: string) => `${PREFIX}/${what}`;

const up = await brokerUp('Mosquitto');

describe.skipIf(!up)('mqtt expectations', () => {
  let client: MqttClient;
  beforeAll(async () => {
    client = await mqtt.connectAsync('mqtt://127.0.0.1:1883', { protocolVersion: 5, reconnectPeriod: 0 });
  });
  afterAll(async () => {
    killSurvivors();
    await client.endAsync();
  });

  it('request: --expect-json and --expect-header (user properties) over the reply; a miss is exit 1', async () => {
    const svc = topic('svc');
    await client.subscribeAsync(svc, { qos: 1 });
    const onMessage = (t: string, _payload: Buffer, packet: mqtt.IPublishPacket) => {
      if (t !== svc || !packet.properties?.responseTopic) return;
      void client.publishAsync(packet.properties.responseTopic, '{"ok":true,"n":2}', {
        qos: 1,
        properties: {
          ...(packet.properties.correlationData
            ? { correlationData: packet.properties.correlationData }
            : {}),
          userProperties: { responder: 'test' },
        },
      });
    };
    client.on('message', onMessage);
    try {
      const ok = await runCli([
        'mqtt',
        'request',
        svc,
        'ping',
        '--qos',
        '1',
        '--timeout',
        '10s',
        '--expect-json',
        '$.ok=true',
        '--expect-json',
        '$.n>1',
        '--expect-header',
        'responder: test',
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      const bad = await runCli([
        'mqtt',
        'request',
        svc,
        'ping',
        '--qos',
        '1',
        '--timeout',
        '10s',
        '--expect-json',
        '$.n!=2',
      ]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain('expected $.n != 2, got 2');
    } finally {
      client.off('message', onMessage);
    }
  });

  it('subscribe: --expect-message stops at the first match; a stream that ends without it is exit 1', async () => {
    const t = topic('ev');
    const sub = startCli([
      'mqtt',
      'subscribe',
      t,
      '--qos',
      '1',
      '--expect-message',
      '/PAID/',
      '--timeout',
      '20s',
      '-v',
    ]);
    await sub.waitFor(/subscribed to/, 'stderr');
    await client.publishAsync(t, 'NEW', { qos: 1 });
    await client.publishAsync(t, 'PAID', { qos: 1 });
    expect((await sub.exited).code, sub.stderr()).toBe(0);

    const miss = startCli([
      'mqtt',
      'subscribe',
      t,
      '--qos',
      '1',
      '--expect-message',
      '/PAID/',
      '--count',
      '1',
      '-v',
    ]);
    await miss.waitFor(/subscribed to/, 'stderr');
    await client.publishAsync(t, 'NEW', { qos: 1 });
    expect((await miss.exited).code).toBe(1);
    expect(miss.stderr()).toContain(`expected a message matching /PAID/, none of 1 did on '${t}'`);
  });
});
