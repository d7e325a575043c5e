import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** Regression tests for the NATS review findings (one describe per finding). */

let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  server = await startNatsServer();
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

describe('credentials in a bad server URL never reach output', () => {
  const cases: Array<{ name: string; args: string[]; env?: Record<string, string>; flag: RegExp }> = [
    {
      name: '-s nats://user:pass@host:notaport',
      args: ['nats', 'publish', 'a.b', 'x', '-s', 'nats://alice:s3cretPW@127.0.0.1:notaport'],
      flag: /invalid --server 'nats:\/\/\[REDACTED\]@127\.0\.0\.1:notaport'/,
    },
    {
      name: '-s user:pass@host:port (no scheme)',
      args: ['nats', 'publish', 'a.b', 'x', '-s', 'alice:s3cretPW@127.0.0.1:4222'],
      flag: /invalid --server '\[REDACTED\]@127\.0\.0\.1:4222'/,
    },
    {
      name: 'NATS_URL',
      args: ['nats', 'request', 'a.b', 'x'],
      env: { NATS_URL: 'nats://alice:s3cretPW@127.0.0.1:notaport' },
      flag: /invalid NATS_URL 'nats:\/\/\[REDACTED\]@127\.0\.0\.1:notaport'/,
    },
    {
      name: 'a password holding @',
      args: ['nats', 'subscribe', 'a.b', '-s', 'nats://alice:s3c@retPW@127.0.0.1:notaport'],
      flag: /invalid --server 'nats:\/\/\[REDACTED\]@127\.0\.0\.1:notaport'/,
    },
    {
      name: 'events stats --store',
      args: ['events', 'stats', '--store', 'nats://alice:s3cretPW@127.0.0.1:notaport'],
      flag: /\[REDACTED\]@127\.0\.0\.1:notaport/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await runCli(c.args, c.env ? { env: c.env } : {});
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(c.flag);
      expect(r.stdout + r.stderr).not.toMatch(/s3c(ret)?/);
      expect(r.stdout + r.stderr).not.toContain('PW');
    });
  }

  it('an unreachable server with credentials: exit 3, redacted', async () => {
    const r = await runCli(['nats', 'request', 'a.b', 'x', '-s', 'nats://alice:s3c@ret/PW@127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('[REDACTED]@');
    expect(r.stdout + r.stderr).not.toMatch(/s3c|PW/);
  });
});

/** A core subscriber, ready once the server has its interest. */
async function subscriber(args: string[]) {
  const p = startCli(['nats', 'subscribe', ...args, ...s(), '-v']);
  await p.waitFor(/listening on/, 'stderr');
  return p;
}

describe('core publish --lines', () => {
  it('streams each line as it is written (the next line waits for the previous one to arrive)', async () => {
    const sub = await subscriber(['lines.stream', '--count', '3', '--raw']);
    const pub = startCli(['nats', 'publish', 'lines.stream', '--lines', '--json', ...s()]);
    pub.child.stdin?.write('one\n');
    await sub.waitFor(/^one\n/);
    pub.child.stdin?.write('two\n');
    await sub.waitFor(/two\n/);
    pub.child.stdin?.end('three\n');
    expect((await pub.exited).code).toBe(0);
    expect(JSON.parse(pub.stdout())).toMatchObject({ ok: true, count: 3, bytes: 11 });
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('one\ntwo\nthree\n');
  });

  it('stdin given at once: every line published, exit 0 at EOF (CRLF and a last line without newline too)', async () => {
    const sub = await subscriber(['lines.eof', '--count', '3', '--raw']);
    const r = await runCli(['nats', 'publish', 'lines.eof', '--lines', ...s()], { input: 'a\r\nb\nc' });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/published 3 messages to lines\.eof/);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('a\nb\nc\n');
  });

  it('Ctrl-C while stdin is idle: exit 130, the lines already sent are reported and delivered', async () => {
    const sub = await subscriber(['lines.int', '--count', '2', '--raw']);
    const pub = startCli(['nats', 'publish', 'lines.int', '--lines', ...s()]);
    pub.child.stdin?.write('x1\nx2\n');
    await sub.waitFor(/x2\n/);
    pub.kill('SIGINT');
    const { code } = await pub.exited;
    expect(code).toBe(130);
    expect(pub.stderr()).toMatch(/published 2 messages to lines\.int, then stopped/);
    expect(pub.stderr()).toMatch(/interrupted.* after publishing 2 messages/);
    expect(pub.stderr()).not.toMatch(/publish to lines\.int failed/);
    expect((await sub.exited).code).toBe(0);
  });

  it('SIGTERM while stdin is idle, --json: exit 130 with the count sent', async () => {
    const sub = await subscriber(['lines.term', '--count', '1', '--raw']);
    const pub = startCli(['nats', 'publish', 'lines.term', '--lines', '--json', ...s()]);
    pub.child.stdin?.write('only\n');
    await sub.waitFor(/only\n/);
    pub.kill('SIGTERM');
    expect((await pub.exited).code).toBe(130);
    expect(JSON.parse(pub.stdout())).toMatchObject({
      ok: false,
      exit: 130,
      count: 1,
      error: { kind: 'interrupted' },
    });
  });
});

describe('durable subscribe acknowledges only what stdout took', () => {
  it('SIGKILL while the reader is slow: a rerun delivers every message not yet printed', async () => {
    const total = 400;
    const pad = 'x'.repeat(1500);
    const pub = await runCli([
      'nats',
      'publish',
      'slow.{{seq}}',
      `m{{seq}} ${pad}`,
      '--jetstream',
      '--stream',
      'SLOW',
      '--count',
      String(total),
      ...s(),
    ]);
    expect(pub.code).toBe(0);
    const base = [
      'nats',
      'subscribe',
      'slow.>',
      '--jetstream',
      '--stream',
      'SLOW',
      '--durable',
      'slowreader',
      '--ack-wait',
      '1s',
      '--raw',
      ...s(),
    ];
    const ids = (text: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith('m'))
        .map((l) => l.split(' ')[0]);
    const first = startCli(base);
    await first.waitFor(/^m1 /);
    // A slow reader: stop reading, so stdout fills up while messages keep arriving.
    first.child.stdout?.pause();
    await sleep(700);
    first.kill('SIGKILL');
    first.child.stdout?.resume(); // what the pipe still holds was printed: collect it
    await first.exited;
    const seen = ids(first.stdout());
    expect(seen.length).toBeLessThan(total);
    const second = await runCli([...base, '--timeout', '4s']);
    expect(second.code).toBe(0);
    const union = new Set([...seen, ...ids(second.stdout)]);
    const missing = Array.from({ length: total }, (_, i) => `m${i + 1}`).filter((m) => !union.has(m));
    expect(missing).toEqual([]);
  });
});

describe('nats reply --count', () => {
  it('counts answers, not dropped requests', async () => {
    const rep = startCli(['nats', 'reply', 'rev.count', '--fail-first', '1', '--count', '2', ...s()]);
    await rep.waitFor(/replying on/, 'stderr');
    const ask = (body: string) =>
      runCli([
        'request',
        'rev.count',
        body,
        '--timeout',
        '300ms',
        '--retries',
        '2',
        '--backoff',
        '1ms',
        ...s(),
      ]);
    const one = await ask('first');
    expect(one.code).toBe(0); // the first attempt was dropped, the retry answered
    expect(one.stdout).toBe('first\n');
    expect(rep.child.exitCode).toBeNull(); // 1 answer of 2: still replying
    const two = await ask('second');
    expect(two.code).toBe(0);
    expect(two.stdout).toBe('second\n');
    expect((await rep.exited).code).toBe(0);
    expect(rep.stderr()).toMatch(/rev\.count: 3 requests, 2 answered, 1 dropped/);
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
    const got = sub
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
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

describe('a durable made for other subjects', () => {
  it('is not silently reused: exit 2 naming its filter', async () => {
    const pub = await runCli([
      'nats',
      'publish',
      'dur.{{seq}}',
      'm{{seq}}',
      '--jetstream',
      '--stream',
      'DUR',
      '--count',
      '7',
      ...s(),
    ]);
    expect(pub.code).toBe(0);
    const js = ['--jetstream', '--stream', 'DUR', '--durable', 'aud2', '--raw', ...s()];
    const made = await runCli(['nats', 'subscribe', 'dur.5', ...js, '--count', '1']);
    expect(made.code).toBe(0);
    expect(made.stdout).toBe('m5\n');
    const other = await runCli(['nats', 'subscribe', 'dur.7', ...js, '--count', '1', '--timeout', '5s']);
    expect(other.code).toBe(2);
    expect(other.stdout).toBe('');
    expect(other.stderr).toMatch(/durable 'aud2' on stream DUR reads 'dur\.5', not 'dur\.7'/);
    expect(other.stderr).toMatch(/hint: .*choose another --durable name/);
    // The durable itself is untouched: its own subject still resumes (nothing new: exit 4).
    const same = await runCli(['nats', 'subscribe', 'dur.5', ...js, '--count', '1', '--timeout', '300ms']);
    expect(same.code).toBe(4);
  });
});

describe('nats reply --exec', () => {
  it('the environment names the message subject, the subscription and the request reply subject', async () => {
    const rep = startCli([
      'nats',
      'reply',
      'ex.*',
      '--exec',
      'printf "%s|%s|%s" "$NATS_SUBJECT" "$NATS_SUBSCRIPTION" "$NATS_REPLY_SUBJECT"',
      ...s(),
    ]);
    await rep.waitFor(/replying on/, 'stderr');
    const r = await runCli(['request', 'ex.1', 'x', '--raw', ...s()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ex\.1\|ex\.\*\|_INBOX\.\S+$/);
    rep.kill('SIGINT');
    expect((await rep.exited).code).toBe(130);
  });

  it('a command outliving --exec-timeout is killed and answered with error 504 (requester exit 1)', async () => {
    const rep = startCli([
      'nats',
      'reply',
      'ex.slow',
      '--exec',
      'sleep 60',
      '--exec-timeout',
      '200ms',
      ...s(),
    ]);
    await rep.waitFor(/replying on/, 'stderr');
    const r = await runCli(['request', 'ex.slow', 'x', '--timeout', '20s', ...s()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/service error 504: --exec command timed out after 200ms \(killed\)/);
    rep.kill('SIGINT');
    expect((await rep.exited).code).toBe(130);
  });

  it('Ctrl-C kills a running command (and what it started) instead of waiting for it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comms-exec-'));
    const pidFile = join(dir, 'pid');
    try {
      const rep = startCli([
        'nats',
        'reply',
        'ex.hang',
        '--exec',
        `sleep 120 & echo $! > ${pidFile}; wait`,
        ...s(),
      ]);
      await rep.waitFor(/replying on/, 'stderr');
      const req = startCli(['request', 'ex.hang', 'x', '--timeout', '60s', ...s()]);
      await rep.waitFor(/Received on "ex\.hang"/);
      while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') await sleep(20);
      const sleeper = Number(readFileSync(pidFile, 'utf8').trim());
      rep.kill('SIGINT');
      expect((await rep.exited).code).toBe(130);
      // The grandchild is gone (kill -0 fails) once it has been reaped.
      const alive = () => {
        try {
          process.kill(sleeper, 0);
          return true;
        } catch {
          return false;
        }
      };
      while (alive()) await sleep(20);
      expect(alive()).toBe(false);
      req.kill('SIGINT');
      await req.exited;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--exec-timeout needs --exec', async () => {
    const r = await runCli(['nats', 'reply', 'ex.x', '--exec-timeout', '1s', ...s()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--exec-timeout needs --exec/);
  });
});

describe('a fixed --msg-id on many JetStream messages', () => {
  const js = ['--jetstream', '--stream', 'MSGID'];
  it('warns that all but the first are duplicates (and they are)', async () => {
    const r = await runCli([
      'nats',
      'publish',
      'msgid.{{seq}}',
      'x',
      ...js,
      ...s(),
      '--count',
      '3',
      '--msg-id',
      'same-id',
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: every message carries --msg-id 'same-id'/);
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/^stream MSGID seq \d+$/),
      expect.stringMatching(/duplicate$/),
      expect.stringMatching(/duplicate$/),
    ]);
  });

  it('no warning with a template, auto, or a single message', async () => {
    for (const extra of [
      ['--count', '2', '--msg-id', 'id-{{seq}}'],
      ['--count', '2', '--msg-id', 'auto'],
      ['--msg-id', 'one-id'],
    ]) {
      const r = await runCli(['nats', 'publish', 'msgid.{{seq}}', 'x', ...js, ...s(), ...extra]);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toMatch(/warning/);
    }
  });
});
