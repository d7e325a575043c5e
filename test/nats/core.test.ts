import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsResponder, natsSubscriber } from '../kit/nats-cli.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { ndjson } from '../kit/ndjson.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  server = await startNatsServer({ jetstream: false });
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

const subscriber = (args: string[]) => natsSubscriber(server.url, args);
const responder = (args: string[]) => natsResponder(server.url, args);

describe('nats publish -> subscribe', () => {
  it('round trip with headers, --json one object per message', async () => {
    const sub = await subscriber(['orders.*', '--count', '2', '--json']);
    const pub = await runCli([
      'publish',
      'orders.{{seq}}',
      '{"n":{{seq}}}',
      '--count',
      '2',
      '-H',
      'Trace-Id: t-{{seq}}',
      ...s(),
    ]);
    expect(pub.code).toBe(0);
    expect(pub.stdout).toBe('');
    expect(pub.stderr).toMatch(/published 2 messages to orders\.\{\{seq\}\}/);
    const { code } = await sub.exited;
    expect(code).toBe(0);
    const lines = ndjson<{ received: unknown }>(sub.stdout());
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      subject: 'orders.1',
      data: { n: 1 },
      encoding: 'json',
      headers: { 'Trace-Id': 't-1' },
      size: 7,
    });
    expect(lines[1]).toMatchObject({ subject: 'orders.2', data: { n: 2 }, headers: { 'Trace-Id': 't-2' } });
    expect(typeof lines[1].received).toBe('string');
    expect(sub.stderr()).toMatch(/2 messages in/);
  });

  it('--count without templates: the same message N times, headers and reply subject on each', async () => {
    const sub = await subscriber(['fixed.subject', '--count', '3', '--json']);
    const pub = await runCli([
      'publish',
      'fixed.subject',
      'same',
      '--count',
      '3',
      '-H',
      'Kind: fixed',
      '--reply-to',
      'answers.here',
      ...s(),
    ]);
    expect(pub.code, pub.stderr).toBe(0);
    expect(pub.stderr).toMatch(/published 3 messages to fixed\.subject/);
    expect((await sub.exited).code).toBe(0);
    const lines = ndjson<Record<string, unknown>>(sub.stdout());
    expect(lines.map((l) => l.n)).toEqual([1, 2, 3]);
    for (const l of lines)
      expect(l).toMatchObject({ data: 'same', reply: 'answers.here', headers: { Kind: 'fixed' }, size: 4 });
    const json = await runCli(['publish', 'fixed.subject', 'abc', '--count', '5', '--json', ...s()]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, count: 5, bytes: 15 });
  });

  it('human output shows subject and headers; --raw only payloads', async () => {
    const human = await subscriber(['greet', '--count', '1']);
    const raw = await subscriber(['greet', '--count', '1', '--raw']);
    expect((await runCli(['nats', 'publish', 'greet', 'hello there', '-H', 'X-Who: me', ...s()])).code).toBe(
      0,
    );
    expect((await human.exited).code).toBe(0);
    expect((await raw.exited).code).toBe(0);
    expect(human.stdout()).toContain('Received on "greet"');
    expect(human.stdout()).toContain('X-Who: me');
    expect(human.stdout()).toContain('hello there');
    expect(raw.stdout()).toBe('hello there\n');
  });

  it('queue group members split the messages', async () => {
    const a = await subscriber(['jobs', '--queue', 'workers', '--json']);
    const b = await subscriber(['jobs', '--queue', 'workers', '--json']);
    const pub = await runCli(['publish', 'jobs', 'job {{seq}}', '--count', '40', ...s()]);
    expect(pub.code).toBe(0);
    const count = (p: typeof a) => p.stdout().split('\n').filter(Boolean).length;
    await expect.poll(() => count(a) + count(b), { timeout: 5000 }).toBe(40);
    a.kill('SIGINT');
    b.kill('SIGINT');
    expect((await a.exited).code).toBe(130);
    expect((await b.exited).code).toBe(130);
    expect(count(a)).toBeGreaterThan(0);
    expect(count(b)).toBeGreaterThan(0);
    const all = ndjson<{ data: unknown }>(`${a.stdout()}\n${b.stdout()}`).map((l) => l.data);
    expect(new Set(all).size).toBe(40);
  });

  it('--count exits 0; --timeout exits 4 when the messages did not come', async () => {
    const late = await runCli(['subscribe', 'nobody.here', '--count', '1', '--timeout', '300ms', ...s()]);
    expect(late.code).toBe(4);
    expect(late.stderr).toMatch(/timed out after 300ms: 0 of 1 expected message/);
    expect(late.stdout).toBe('');
  });

  it('Ctrl-C drains and prints a summary on stderr, exit 130', async () => {
    const sub = await subscriber(['tick']);
    await runCli(['publish', 'tick', 't{{seq}}', '--count', '3', ...s()]);
    await sub.waitFor(/t3/);
    sub.kill('SIGINT');
    const { code } = await sub.exited;
    expect(code).toBe(130);
    expect(sub.stderr()).toMatch(/tick: 3 messages in .* msgs\/s/);
  });

  it('keeps going when the server restarts mid-subscription', async () => {
    const sub = await subscriber(['restart.test', '--count', '2', '--raw']);
    await runCli(['publish', 'restart.test', 'before', ...s()]);
    await sub.waitFor(/before/);
    await server.restart();
    await sub.waitFor(/reconnected to/, 'stderr', 15_000);
    const pub = await runCli(['publish', 'restart.test', 'after', ...s()]);
    expect(pub.code).toBe(0);
    const { code } = await sub.exited;
    expect(code).toBe(0);
    expect(sub.stdout()).toBe('before\nafter\n');
    expect(sub.stderr()).toMatch(/disconnected from/);
  });
});

describe('nats request / reply', () => {
  it('request against `nats reply` (echo) prints the reply and its timing', async () => {
    const r = await responder(['svc.echo', '--count', '2']);
    const human = await runCli(['request', 'svc.echo', 'ping', '-H', 'X-Trace: 7', ...s(), '-v']);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('ping\n');
    expect(human.stderr).toMatch(/reply from svc\.echo \(4 bytes\)/);
    expect(human.stderr).toMatch(/X-Trace: 7/);
    expect(human.stderr).toMatch(/timing: connect .* total/);
    const json = await runCli(['nats', 'request', 'svc.echo', '{"a":1}', '--json', ...s()]);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout);
    expect(result).toMatchObject({
      transport: 'nats',
      target: 'svc.echo',
      operation: 'request',
      ok: true,
      exit: 0,
      status: 'reply',
      data: { a: 1 },
    });
    expect(result.attempts).toHaveLength(1);
    expect(result.timing.total).toBeGreaterThan(0);
    expect((await r.exited).code).toBe(0);
    expect(r.stdout()).toContain('ping');
  });

  /** A --json request's timing: every phase from the attempt's start, on one clock. */
  const requestTiming = async (subject: string, extra: string[] = []) => {
    const r = await runCli(['nats', 'request', subject, 'p', '--json', ...extra, ...s()]);
    expect(r.code, r.stderr).toBe(0);
    const t = (JSON.parse(r.stdout) as { timing: Record<string, number> }).timing;
    expect(Object.keys(t).sort()).toEqual(['connect', 'firstByte', 'total']);
    expect(t.connect).toBeGreaterThanOrEqual(0);
    expect(t.firstByte).toBeGreaterThanOrEqual(t.connect as number);
    expect(t.total).toBeGreaterThanOrEqual(t.firstByte as number);
    return t;
  };

  it('timing: 0 <= connect <= firstByte <= total, through the inbox mux and through nc.request (--max-time)', async () => {
    // firstByte was read on performance.now()'s clock (process start) against an attempt start read
    // on core/clock (module load): it came out 200-400 ms larger than total.
    const r = await responder(['svc.timing', '--count', '2']);
    await requestTiming('svc.timing');
    await requestTiming('svc.timing', ['--max-time', '30s']);
    expect((await r.exited).code).toBe(0);
  });

  it('timing: a responder that answers after 300ms gives firstByte >= 300ms, and firstByte <= total', async () => {
    const D = 300;
    const r = await responder(['svc.slow', '--delay', `${D}ms`, '--count', '2']);
    for (const extra of [[], ['--max-time', '30s']]) {
      const t = await requestTiming('svc.slow', extra);
      // From the attempt's start only: firstByte - connect shrinks when the client notices its
      // connection late on a loaded machine.
      expect(t.firstByte).toBeGreaterThanOrEqual(D - 2);
    }
    expect((await r.exited).code).toBe(0);
  });

  it('--body and --exec responders', async () => {
    const body = await responder(['svc.fixed', '--body', 'fixed!', '--count', '1']);
    const exec = await responder(['svc.upper', '--exec', 'tr a-z A-Z', '--count', '1']);
    expect((await runCli(['request', 'svc.fixed', 'x', ...s()])).stdout).toBe('fixed!\n');
    expect((await runCli(['request', 'svc.upper', 'shout', '--raw', ...s()])).stdout).toBe('SHOUT');
    expect((await body.exited).code).toBe(0);
    expect((await exec.exited).code).toBe(0);
  });

  it('no responders exits 3 with a clear message, after the retries', async () => {
    const r = await runCli([
      'request',
      'nobody.listens',
      'x',
      '--retries',
      '2',
      '--backoff',
      '10ms',
      '--json',
      ...s(),
    ]);
    expect(r.code).toBe(3);
    const result = JSON.parse(r.stdout);
    expect(result.status).toBe('no responders');
    expect(result.error.kind).toBe('connect');
    expect(result.attempts).toHaveLength(3);
    expect(r.stderr).toMatch(/no responders on 'nobody\.listens'/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a timeout exits 4', async () => {
    const r0 = await responder(['svc.slow', '--delay', '2s', '--count', '1']);
    const r = await runCli(['request', 'svc.slow', 'x', '--timeout', '200ms', ...s()]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/timed out after 200ms/);
    r0.kill('SIGINT');
  });

  it('retries succeed against a responder that drops requests (--fail-first, --fail-rate)', async () => {
    const first = await responder(['svc.flaky', '--fail-first', '2', '--count', '1']);
    const r = await runCli([
      'request',
      'svc.flaky',
      'hi',
      '--timeout',
      '200ms',
      '--retries',
      '3',
      '--backoff',
      '10ms',
      '--json',
      ...s(),
    ]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result.attempts.map((a: { ok: boolean }) => a.ok)).toEqual([false, false, true]);
    expect(result.attempts[0].error.kind).toBe('timeout');
    expect(result.data).toBe('hi');
    expect((await first.exited).code).toBe(0);
    expect(first.stderr()).toMatch(/#1: dropped \(fault injection\)/);

    // Random drops: 30 retries at a 50% drop rate fail with probability 2^-31.
    const rate = await responder(['svc.random', '--fail-rate', '50%']);
    const r2 = await runCli([
      'request',
      'svc.random',
      'hey',
      '--timeout',
      '100ms',
      '--retries',
      '30',
      '--backoff',
      '1ms',
      '--backoff-max',
      '5ms',
      ...s(),
    ]);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toBe('hey\n');
    rate.kill('SIGINT');
    expect((await rate.exited).code).toBe(130);
  });

  it('the breaker opens after consecutive failures (exit 5)', async () => {
    const r = await runCli([
      'request',
      'nobody.breaker',
      'x',
      '--retries',
      '3',
      '--backoff',
      '1ms',
      '--breaker',
      '2',
      '--breaker-cooldown',
      '10s',
      '--json',
      ...s(),
    ]);
    expect(r.code).toBe(5);
    const result = JSON.parse(r.stdout);
    expect(result.attempts.at(-1).error.kind).toBe('breaker');
  });
});

describe('bad input exits 2 and sends nothing', () => {
  it.concurrent.each([
    [['publish', '', 'x'], /empty subject/],
    [['publish', 'a b', 'x'], /cannot contain spaces/],
    [['publish', 'orders.', 'x'], /trailing dot/],
    [['publish', 'orders.*', 'x'], /wildcards/],
    [['publish', 'orders.>', 'x'], /wildcards/],
    [
      ['publish', 'orders', '@/nonexistent/payload.json'],
      /cannot read payload file '\/nonexistent\/payload.json': no such file/,
    ],
    [['request', 'svc', '-d', '@/nonexistent/req.json'], /cannot read -d file/],
    [['publish', 'orders', 'x', '--count', 'lots'], /invalid --count 'lots'/],
    [['subscribe', 'orders', '--deliver', 'sometime'], /invalid --deliver/],
    [['nats', 'reply', 'svc', '--fail-rate', '150%'], /invalid --fail-rate/],
    [['publish', 'orders', 'x', '-s', 'http://127.0.0.1:1'], /unsupported scheme/],
  ])('%j', async (args, message) => {
    const r = await runCli([...args, ...(args.includes('-s') ? [] : s())]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('JetStream against a server without it', () => {
  it('subscribe and publish --jetstream exit 3 with a hint', async () => {
    const sub = await runCli(['subscribe', 'x', '--jetstream', '--stream', 'S', '--count', '1', ...s()]);
    expect(sub.code).toBe(3);
    expect(sub.stderr).toMatch(/JetStream is not enabled/);
    const pub = await runCli(['publish', 'x', 'y', '--jetstream', ...s()]);
    expect(pub.code).toBe(3);
  });
});

describe('connection failures exit 3 without secrets or stack traces', () => {
  it('unreachable server', async () => {
    const r = await runCli(['publish', 'x', 'y', '-s', 'nats://alice:hunter2@127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot connect to nats:\/\/\[REDACTED\]@127\.0\.0\.1:1: connection refused/);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('control characters in subjects and queue names', () => {
  const cases: string[][] = [
    ['nats', 'publish', 'a\u0001b', 'x'],
    ['nats', 'publish', 'orders.{{seq}}\u001b', 'x'],
    ['nats', 'subscribe', 'a.\u0007.>'],
    ['nats', 'request', 'svc\u007f', 'x'],
    ['nats', 'reply', 'svc.\u0085'],
    ['nats', 'publish', 'a', 'x', '--reply-to', 'in\u0002box'],
    ['nats', 'subscribe', 'a', '--queue', 'wor\u0003kers'],
    ['nats', 'reply', 'a', '--queue', 'q\u0004'],
  ];
  for (const args of cases) {
    it(JSON.stringify(args), async () => {
      const r = await runCli([...args, ...s()]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/invalid .*control characters/);
      expect(r.stdout).toBe('');
      // The bad character is shown escaped, never written raw to the terminal.
      expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u0085]/);
    });
  }
});

describe('--json data keeps the payload', () => {
  const cases: Array<[string, unknown, 'json' | 'text']> = [
    ['12345678901234567890', '12345678901234567890', 'text'],
    ['  42  ', '  42  ', 'text'],
    ['1.50', '1.50', 'text'],
    ['{"id":12345678901234567890}', '{"id":12345678901234567890}', 'text'],
    ['42', 42, 'json'],
    ['{"a":[1,2.5,"x"]}\n', { a: [1, 2.5, 'x'] }, 'json'],
  ];

  it('subscribe --json: lossy numbers and padded scalars stay text', async () => {
    const sub = await subscriber(['dec.*', '--count', String(cases.length), '--json']);
    for (const [i, [payload]] of cases.entries()) {
      expect(
        (await runCli(['nats', 'publish', `dec.${i}`, '-d', '@-', ...s()], { input: payload })).code,
      ).toBe(0);
    }
    expect((await sub.exited).code).toBe(0);
    const got = ndjson<{ data: unknown; encoding: string }>(sub.stdout());
    expect(got.map((m) => [m.data, m.encoding])).toEqual(cases.map(([, data, enc]) => [data, enc]));
  });

  it('request --json: the reply is decoded by the same rule', async () => {
    const rep = startCli(['nats', 'reply', 'dec.echo', ...s()]);
    await rep.waitFor(/replying on/, 'stderr');
    const r = await runCli(['request', 'dec.echo', '12345678901234567890', '--json', ...s()]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ data: '12345678901234567890', encoding: 'text' });
    rep.kill('SIGINT');
    await rep.exited;
  });
});
