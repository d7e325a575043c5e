import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUp } from '../kit/brokers.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/*
 * The shared expectations on AMQP (the machine's RabbitMQ, names unique to this run, deleted after):
 * `amqp request` takes --expect-json/-body/-header over the reply; `amqp consume` takes
 * --expect-count / --expect-message over the stream.
 */
const URL = 'amqp://guest:guest@127.0.0.1:5672/';
const PREFIX = `cc-expect-${process.pid}-${Date.now().toString(36)}`;
const name = (what: string) => `${PREFIX}.${what}`;

const up = await brokerUp('RabbitMQ');

describe.skipIf(!up)('amqp expectations', () => {
  let conn: ChannelModel;
  let ch: Channel;
  const queues: string[] = [];
  beforeAll(async () => {
    conn = await amqp.connect(URL);
    ch = await conn.createChannel();
  });
  afterAll(async () => {
    killSurvivors();
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close();
  });

  it('request: --expect-json, --expect-header (reply headers) hold; a miss is exit 1 naming it', async () => {
    const q = name('rpc');
    queues.push(q);
    const responder = startCli(['amqp', 'reply', q, '--declare', '-H', 'served-by: test']);
    await responder.waitFor(/replying on queue/, 'stderr');
    const ok = await runCli([
      'amqp',
      'request',
      q,
      '{"qty":3,"items":[1,2]}',
      '--timeout',
      '10s',
      '--expect-json',
      '$.qty>=3',
      '--expect-json',
      '$.items.length=2',
      '--expect-header',
      'served-by: test',
      '--expect-body',
      'qty',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    const bad = await runCli([
      'amqp',
      'request',
      q,
      '{"qty":3}',
      '--timeout',
      '10s',
      '--expect-json',
      '$.qty<3',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('expected $.qty < 3, got 3');
    responder.kill('SIGINT');
    await responder.exited;
  });

  it('consume: --expect-message stops at the first match; --expect-count with --timeout is a window', async () => {
    const q = name('events');
    await ch.assertQueue(q, { durable: false });
    queues.push(q);
    ch.sendToQueue(q, Buffer.from('{"state":"NEW"}'));
    ch.sendToQueue(q, Buffer.from('{"state":"PAID"}'));
    const found = await runCli([
      'amqp',
      'consume',
      q,
      '--expect-message',
      '$.state=PAID',
      '--timeout',
      '20s',
    ]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stdout).toContain('PAID');

    ch.sendToQueue(q, Buffer.from('a'));
    ch.sendToQueue(q, Buffer.from('b'));
    const window = await runCli(['amqp', 'consume', q, '--expect-count', '3', '--timeout', '2s']);
    expect(window.code).toBe(1);
    expect(window.stderr).toContain(`expected 3 messages, got 2 on '${q}'`);
  });

  it('bad specs exit 2 before connecting', async () => {
    const r = await runCli(['amqp', 'request', 'x', '--expect-json', '$.a>b', '--url', 'amqp://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/invalid --expect-json '\$\.a>b'/);
    const c = await runCli(['amqp', 'consume', 'x', '--expect-message', '', '--url', 'amqp://127.0.0.1:1']);
    expect(c.code).toBe(2);
  });
});
