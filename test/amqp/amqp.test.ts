import { execFileSync, spawnSync } from 'node:child_process';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerUp } from '../kit/brokers.js';
import { ndjson as lines } from '../kit/ndjson.js';
import { expectRequestTiming } from '../kit/request-timing.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/**
 * End-to-end against the machine's RabbitMQ (127.0.0.1:5672, guest/guest). Every queue and exchange
 * is named with this run's prefix and deleted afterwards, so parallel runs do not collide.
 */
const URL = 'amqp://guest:guest@127.0.0.1:5672/';
const PREFIX = `cc-test-${process.pid}-${Date.now().toString(36)}`;
const name = (what: string) => `${PREFIX}.${what}`;

const up = await brokerUp('RabbitMQ');

describe.skipIf(!up)('amqp (RabbitMQ)', () => {
  let conn: ChannelModel;
  let ch: Channel;
  const queues: string[] = [];
  const exchanges: string[] = [];

  async function queue(what: string): Promise<string> {
    const q = name(what);
    await ch.assertQueue(q, { durable: false });
    queues.push(q);
    return q;
  }

  beforeAll(async () => {
    conn = await amqp.connect(URL);
    ch = await conn.createChannel();
  });

  afterAll(async () => {
    killSurvivors();
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    for (const e of exchanges) await ch.deleteExchange(e).catch(() => undefined);
    await conn.close();
  });

  it('publishes with confirms (templates, headers, properties) and consume prints the contract shape', async () => {
    const q = await queue('confirm');
    const pub = await runCli([
      'amqp',
      'publish',
      q,
      '{"n":{{seq}}}',
      '--count',
      '3',
      '-H',
      'trace: t-{{seq}}',
      '--content-type',
      'application/json',
      '--message-id',
      'm-{{seq}}',
    ]);
    expect(pub.stderr).toContain('published 3 messages');
    expect(pub.stderr).toContain('confirmed');
    expect(pub.code).toBe(0);
    const sub = await runCli(['amqp', 'consume', q, '--count', '3', '--json', '--timeout', '10s']);
    expect(sub.code).toBe(0);
    const msgs = lines(sub.stdout);
    expect(msgs).toHaveLength(3);
    expect(msgs[0]).toMatchObject({
      type: 'message',
      transport: 'amqp',
      n: 1,
      queue: q,
      headers: { trace: 't-1' },
      data: { n: 1 },
      encoding: 'json',
      size: 7,
      properties: { 'content-type': 'application/json', 'message-id': 'm-1' },
    });
    expect(typeof msgs[0]?.received).toBe('string');
    expect(msgs.map((m) => (m.data as { n: number }).n)).toEqual([1, 2, 3]);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
  });

  it('--mandatory: an unroutable message is exit 3 with the broker reason; --json says so', async () => {
    const r = await runCli([
      'amqp',
      'publish',
      'amq.direct',
      '-r',
      name('nobody'),
      'x',
      '--mandatory',
      '--json',
    ]);
    expect(r.code).toBe(3);
    const [result] = lines(r.stdout);
    expect(result).toMatchObject({ ok: false, exit: 3, status: 'unroutable', error: { kind: 'connect' } });
    expect(JSON.stringify(result?.error)).toContain('312 NO_ROUTE');
    expect(r.stderr).toContain('NO_ROUTE');
    // Without --mandatory the broker drops it and confirms: success.
    const quiet = await runCli(['amqp', 'publish', 'amq.direct', '-r', name('nobody'), 'x']);
    expect(quiet.code).toBe(0);
  });

  it('a queue or exchange that does not exist is exit 1 with the broker text (404 NOT_FOUND)', async () => {
    const q = name('missing');
    const r = await runCli(['amqp', 'publish', q, 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`NOT_FOUND - no queue '${q}'`);
    const e = await runCli(['amqp', 'publish', name('no-exchange'), '-r', 'k', 'x']);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('NOT_FOUND - no exchange');
    const c = await runCli(['amqp', 'consume', q, '--timeout', '2s']);
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('NOT_FOUND');
  });

  it('a wrong password is ACCESS_REFUSED, exit 3, and the password never appears', async () => {
    const r = await runCli([
      'amqp',
      'publish',
      'q',
      'x',
      '--url',
      'amqp://guest:sekrit-pw@127.0.0.1:5672/',
      '--json',
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ACCESS_REFUSED');
    expect(r.stdout).toContain('COMMS_ERR_AMQP_ACCESS_REFUSED');
    expect(r.stdout + r.stderr).not.toContain('sekrit-pw');
    const env = await runCli(['amqp', 'consume', 'q', '--timeout', '2s'], {
      env: { AMQP_URL: 'amqp://guest:sekrit-pw@127.0.0.1:5672/' },
    });
    expect(env.code).toBe(3);
    expect(env.stderr).not.toContain('sekrit-pw');
  });

  it('a refused connection is exit 3', async () => {
    const r = await runCli(['amqp', 'publish', 'q', 'x', '--url', 'amqp://guest:guest@127.0.0.1:1/']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('connection refused');
  });

  it('ack after write: a consumer killed with SIGKILL loses no message, the unacked one is redelivered', async () => {
    const q = await queue('ack');
    const total = 20;
    const pub = await runCli(['amqp', 'publish', q, 'msg-{{seq}}', '--count', String(total)]);
    expect(pub.code).toBe(0);
    const first = startCli(['amqp', 'consume', q, '--prefetch', '1', '--raw']);
    await first.waitFor(/msg-3\n/);
    first.kill('SIGKILL');
    await first.exited;
    const seenFirst = first.stdout().split('\n').filter(Boolean);
    // --timeout bounds the whole wait (exit 4 when nothing arrived in it): wide enough for a loaded
    // machine's start-up and the broker noticing the dead consumer.
    const second = await runCli(['amqp', 'consume', q, '--json', '--timeout', '10s'], { timeoutMs: 30_000 });
    expect(second.code).toBe(0);
    const again = lines(second.stdout);
    const all = new Set([...seenFirst, ...again.map((m) => String(m.data))]);
    for (let i = 1; i <= total; i++) expect(all.has(`msg-${i}`)).toBe(true);
    // With --prefetch 1, at most one message was in flight when the first consumer died.
    expect(again.length).toBeGreaterThanOrEqual(total - seenFirst.length);
    expect(again.length).toBeLessThanOrEqual(total - seenFirst.length + 1);
    if (again.length > total - seenFirst.length) expect(again[0]?.redelivered).toBe(true);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
  });

  it('--nack rejects after printing; --no-ack needs no acks; --bind with queue - gets exchange traffic', async () => {
    const q = await queue('nack');
    await runCli(['amqp', 'publish', q, 'a']);
    const n = await runCli(['amqp', 'consume', q, '--count', '1', '--nack', '--raw']);
    expect(n.stdout).toBe('a\n');
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    const ex = name('topic');
    await ch.assertExchange(ex, 'topic', { durable: false });
    exchanges.push(ex);
    const sub = startCli([
      'amqp',
      'consume',
      '-',
      '--bind',
      `${ex}:orders.*`,
      '--count',
      '2',
      '--json',
      '--no-ack',
    ]);
    await sub.waitFor(/private queue/, 'stderr');
    const pub = await runCli([
      'amqp',
      'publish',
      ex,
      '-r',
      'orders.{{seq}}',
      'o{{seq}}',
      '--count',
      '2',
      '--mandatory',
    ]);
    expect(pub.code).toBe(0);
    const done = await sub.exited;
    expect(done.code).toBe(0);
    const msgs = lines(sub.stdout());
    expect(msgs.map((m) => m.routingKey)).toEqual(['orders.1', 'orders.2']);
    expect(msgs[0]?.exchange).toBe(ex);
  });

  it('consume --timeout without messages is exit 4', async () => {
    const q = await queue('idle');
    const r = await runCli(['amqp', 'consume', q, '--timeout', '500ms']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('0 of 1 expected');
  });

  it('request timing: 0 <= connect <= firstByte <= total; an answer delayed 300ms gives firstByte >= 298', async () => {
    const D = 300;
    for (const [what, extra] of [
      ['at-once', []],
      ['delayed', ['--delay', `${D}ms`]],
    ] as const) {
      const q = name(`timing-${what}`);
      queues.push(q);
      const responder = startCli(['amqp', 'reply', q, '--declare', '--count', '1', ...extra]);
      await responder.waitFor(/replying on queue/, 'stderr');
      const r = await runCli(['amqp', 'request', q, 'p', '--json', '--timeout', '10s']);
      expect(r.code, r.stderr).toBe(0);
      expectRequestTiming(r.stdout, what === 'delayed' ? D : undefined);
      expect((await responder.exited).code).toBe(0);
    }
  });

  it('request/reply over direct reply-to; --exec failure is exit 1; no responder is exit 4; no queue exit 3', async () => {
    const q = name('rpc');
    queues.push(q);
    const responder = startCli(['amqp', 'reply', q, '--declare', '-H', 'served-by: test']);
    await responder.waitFor(/replying on queue/, 'stderr');
    const r = await runCli(['amqp', 'request', q, '{"ping":1}', '--json', '--timeout', '10s']);
    expect(r.code).toBe(0);
    const [result] = lines(r.stdout);
    expect(result).toMatchObject({
      transport: 'amqp',
      operation: 'request',
      ok: true,
      status: 'reply',
      data: { ping: 1 },
      headers: { 'served-by': 'test' },
    });
    expect(typeof result?.correlationId).toBe('string');
    const load = await runCli(['amqp', 'request', q, 'load {{seq}}', '-n', '30', '-c', '5', '--json']);
    expect(load.code).toBe(0);
    const summary = lines(load.stdout).at(-1);
    expect(summary).toMatchObject({ type: 'summary', requests: 30, errors: 0 });
    responder.kill('SIGINT');
    expect((await responder.exited).code).toBe(130);

    // The queue is there, nobody consumes it: the request times out (exit 4), retried once.
    const noResponder = await runCli([
      'amqp',
      'request',
      q,
      'x',
      '--timeout',
      '700ms',
      '--retries',
      '1',
      '--backoff',
      '10ms',
    ]);
    expect(noResponder.code).toBe(4);
    expect(noResponder.stderr).toContain('attempt 2/2');
    await ch.purgeQueue(q);

    const failing = startCli(['amqp', 'reply', q, '--exec', 'exit 3', '--count', '1']);
    await failing.waitFor(/replying on queue/, 'stderr');
    const f = await runCli(['amqp', 'request', q, 'x', '--timeout', '10s']);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain('service error 500');
    expect((await failing.exited).code).toBe(0);

    const missing = await runCli(['amqp', 'request', name('nobody-home'), 'x', '--timeout', '5s']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('NO_ROUTE');
  });

  it('load mode publishes with confirms and reports a summary', async () => {
    const q = await queue('load');
    const r = await runCli(['amqp', 'publish', q, 'p{{seq}}', '-n', '50', '-c', '5', '--json']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout).at(-1)).toMatchObject({ type: 'summary', requests: 50, errors: 0 });
    expect((await ch.checkQueue(q)).messageCount).toBe(50);
  });

  it('bad input is one line, exit 2, nothing sent', async () => {
    const q = await queue('bad');
    const long = 'k'.repeat(256);
    const cases: string[][] = [
      ['amqp', 'publish', 'amq.direct', '-r', long, 'x'],
      ['amqp', 'publish', q, 'x', '--url', 'http://127.0.0.1:5672/'],
      ['amqp', 'publish', q, 'x', '--url', 'not a url'],
      ['amqp', 'publish', q, 'x', '--priority', '300'],
      ['amqp', 'publish', q, 'x', '--durable'],
      ['amqp', 'publish', q, 'x', '--mandatory', '--no-confirm'],
      ['amqp', 'consume', '-'],
      ['amqp', 'consume', q, '--bind', 'nocolon'],
      ['amqp', 'publish', 'q'.repeat(256), 'x'],
    ];
    for (const argv of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      expect(errorLines, argv.join(' ')).toHaveLength(1);
    }
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
  });

  const hasAmqpTools = spawnSync('amqp-publish', ['--help']).error === undefined;
  it.skipIf(!hasAmqpTools)('interoperates with the C client (amqp-tools) both ways', async () => {
    const q = await queue('interop');
    // amqp-tools reads a trailing '/' as the empty vhost: give it the URL without one.
    const C_URL = 'amqp://guest:guest@127.0.0.1:5672';
    execFileSync('amqp-publish', ['--url', C_URL, '-r', q, '-b', 'from-c', '-H', 'origin: c']);
    const got = await runCli(['amqp', 'consume', q, '--count', '1', '--json', '--timeout', '10s']);
    expect(got.code).toBe(0);
    expect(lines(got.stdout)[0]).toMatchObject({ data: 'from-c', headers: { origin: 'c' } });
    const pub = await runCli(['amqp', 'publish', q, 'from-comms-cli']);
    expect(pub.code).toBe(0);
    const out = execFileSync('amqp-consume', ['--url', C_URL, '-q', q, '-c', '1', 'cat'], {
      timeout: 15_000,
    });
    expect(out.toString()).toBe('from-comms-cli');
  });
  if (!hasAmqpTools)
    console.warn('amqp-tools (amqp-publish/amqp-consume) not installed: interop test skipped');
});
