import { connect as tcpConnect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsSubscriber } from '../kit/nats-cli.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { ndjson } from '../kit/ndjson.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** Issue 10 (NATS items) and issue 17 (NATS items), each against a private nats-server. */

let server: NatsServer;
const s = () => ['-s', server.url];

beforeAll(async () => {
  // 8 MB max_payload so a 100k-header message can be sent at all.
  server = await startNatsServer({ jetstream: true, config: 'max_payload: 8388608' });
});
afterEach(() => killSurvivors());
afterAll(async () => {
  await server?.stop();
});

/** Send raw protocol lines to the server (what no client library would send), then wait for PONG. */
function rawSend(url: string, payload: Buffer): Promise<void> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = tcpConnect(Number(port), '127.0.0.1');
    let seen = '';
    sock.on('error', reject);
    sock.on('data', (d) => {
      seen += d.toString('latin1');
      if (seen.includes('INFO') && !seen.includes('#sent')) {
        seen += '#sent';
        sock.write('CONNECT {"verbose":false,"pedantic":false,"headers":true,"protocol":1}\r\n');
        sock.write(payload);
        sock.write('PING\r\n');
      }
      if (/PONG\r\n/.test(seen)) {
        sock.end();
        resolve();
      }
      if (/-ERR/.test(seen)) reject(new Error(seen));
    });
  });
}

function hpub(subject: string, headerLines: string[], body: string): Buffer {
  const head = Buffer.from(`NATS/1.0\r\n${headerLines.map((h) => `${h}\r\n`).join('')}\r\n`);
  const data = Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`HPUB ${subject} ${head.length} ${head.length + data.length}\r\n`),
    head,
    data,
    Buffer.from('\r\n'),
  ]);
}

describe('usage errors', () => {
  it("-s 'garbage::' is a usage error (exit 2), not a connection failure", async () => {
    for (const cmd of [
      ['publish', 'a', 'x'],
      ['request', 'a', 'x'],
      ['subscribe', 'a'],
    ]) {
      const r = await runCli(['nats', ...cmd, '-s', 'garbage::', '--timeout', '2s']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/invalid --server 'garbage::'/);
    }
    const env = await runCli(['nats', 'publish', 'a', 'x'], { env: { NATS_URL: 'h:99999' } });
    expect(env.code).toBe(2);
    expect(env.stderr).toMatch(/invalid NATS_URL 'h:99999'/);
  });
});

describe('--data-raw', () => {
  it('sends a payload starting with @ literally (publish and request)', async () => {
    const sub = await natsSubscriber(server.url, ['raw.at', '--count', '1', '--raw']);
    const pub = await runCli(['nats', 'publish', 'raw.at', '--data-raw', '@not-a-file', ...s()]);
    expect(pub.code, pub.stderr).toBe(0);
    expect((await sub.exited).code).toBe(0);
    expect(sub.stdout()).toBe('@not-a-file\n');

    const responder = startCli(['nats', 'reply', 'raw.echo', '--count', '1', ...s()]);
    await responder.waitFor(/replying on/, 'stderr');
    const req = await runCli(['nats', 'request', 'raw.echo', '--data-raw', '@-', '--raw', ...s()]);
    expect(req.code, req.stderr).toBe(0);
    expect(req.stdout).toBe('@-');
    // -d keeps its meaning: @file is read
    const missing = await runCli(['nats', 'publish', 'raw.at', '-d', '@/nonexistent/file', ...s()]);
    expect(missing.code).toBe(2);
    const both = await runCli(['nats', 'publish', 'raw.at', 'x', '--data-raw', 'y', ...s()]);
    expect(both.code).toBe(2);
  });
});

describe('JetStream --stream and --expect-stream', () => {
  it('a --stream that exists for other subjects is named with its subjects; --count reports out of 3', async () => {
    const made = await runCli([
      'nats',
      'publish',
      'orders.created',
      'x',
      '--jetstream',
      '--stream',
      'ORDERS',
      ...s(),
    ]);
    expect(made.code, made.stderr).toBe(0);
    const r = await runCli([
      'nats',
      'publish',
      'invoices.paid',
      'x',
      '--jetstream',
      '--stream',
      'ORDERS',
      '--count',
      '3',
      ...s(),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /stream ORDERS exists but does not take 'invoices\.paid': its subject is 'orders\.created'/,
    );
    expect(r.stderr).toMatch(/stored 0 of 3 messages, stopped at #1/);
    expect(r.stderr).not.toMatch(/of 1 message/);
  });

  it('an --expect-stream failure names the stream the subject really lands in', async () => {
    const made = await runCli([
      'nats',
      'publish',
      'ship.sent',
      'x',
      '--jetstream',
      '--stream',
      'SHIPPING',
      ...s(),
    ]);
    expect(made.code, made.stderr).toBe(0);
    const r = await runCli([
      'nats',
      'publish',
      'ship.sent',
      'x',
      '--jetstream',
      '--expect-stream',
      'ORDERS',
      ...s(),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/'ship\.sent' is stored by stream SHIPPING, not ORDERS \(--expect-stream\)/);
  });
});

describe('max_payload', () => {
  it('a too-large message names both sizes, and --jetstream --stream creates no stream first', async () => {
    const big = 'x'.repeat(8_388_608 + 10);
    const r = await runCli(['nats', 'publish', 'big.one', '-d', '@-', ...s()], { input: big });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /message of 8,388,618 bytes is larger than the server's max_payload of 8,388,608 bytes/,
    );
    const js = await runCli(
      ['nats', 'publish', 'big.two', '-d', '@-', '--jetstream', '--stream', 'BIGSTREAM', ...s()],
      { input: big },
    );
    expect(js.code).toBe(2);
    expect(js.stderr).toMatch(/max_payload of 8,388,608 bytes/);
    expect(js.stderr).not.toMatch(/created stream/);
    // The stream does not exist: a JetStream subscribe on it says so.
    const sub = await runCli([
      'nats',
      'subscribe',
      'big.two',
      '--jetstream',
      '--stream',
      'BIGSTREAM',
      ...s(),
    ]);
    expect(sub.code).toBe(3);
    expect(sub.stderr).toMatch(/stream 'BIGSTREAM' not found/);
  });
});

describe('peer text on the terminal', () => {
  it('header names and values with escape sequences are shown escaped (subscribe and reply)', async () => {
    const sub = await natsSubscriber(server.url, ['esc.subject', '--count', '1']);
    const rep = startCli(['nats', 'reply', 'esc.subject', '--count', '1', ...s()]);
    await rep.waitFor(/replying on/, 'stderr');
    await rawSend(
      server.url,
      hpub('esc.subject _INBOX.esc', ['X-Evil: a\x1b]0;pwned\x07b\x1b[2J', 'X-Csi: \u009b31m'], 'body'),
    );
    expect((await sub.exited).code).toBe(0);
    await rep.exited;
    for (const out of [sub.stdout(), rep.stdout()]) {
      expect(out).toContain('X-Evil: a\\u001b]0;pwned\\u0007b\\u001b[2J');
      expect(out).toContain('X-Csi: \\u009b31m');
      expect(out).not.toMatch(/[\x1b\x07\u009b]/);
      expect(out).toContain('body');
    }
  });
});

describe('a header block over the bound', () => {
  it('100k headers: the subscriber shows the message at once without them, says so, and goes on', async () => {
    const sub = await natsSubscriber(server.url, ['bomb.subject', '--count', '2', '--json']);
    const lines = Array.from({ length: 100_000 }, (_, i) => `H${i}: v`);
    const t0 = performance.now();
    await rawSend(server.url, hpub('bomb.subject', lines, 'payload-1'));
    expect((await runCli(['nats', 'publish', 'bomb.subject', 'payload-2', ...s()])).code).toBe(0);
    const { code } = await sub.exited;
    expect(code).toBe(0);
    // Decoding 100k headers took 30 s in the client; skipping them is immediate.
    expect(performance.now() - t0).toBeLessThan(8_000);
    const msgs = ndjson<{ data: unknown; headers?: unknown }>(sub.stdout());
    expect(msgs.map((m) => m.data)).toEqual(['payload-1', 'payload-2']);
    expect(msgs[0]?.headers).toEqual({});
    expect(sub.stderr()).toMatch(
      /warning: message #1 on "bomb\.subject": its [\d,]+-byte header block is over the 16 KiB limit: headers not decoded or shown/,
    );
  });
});

describe('reconnect reporting', () => {
  it('a subscriber says disconnected and reconnected once each on stderr (without -v)', async () => {
    const own = await startNatsServer({ jetstream: false });
    try {
      const sub = startCli(['nats', 'subscribe', 'rc.subject', '--raw', '-s', own.url]);
      // Without -v it prints nothing until a message comes: publish until one is seen.
      for (let i = 0; i < 100 && !sub.stdout().includes('probe'); i++) {
        await runCli(['nats', 'publish', 'rc.subject', 'probe', '-s', own.url]);
        await new Promise((r) => setTimeout(r, 100));
      }
      await own.stop({ keepDir: true });
      await sub.waitFor(/disconnected from/, 'stderr', 15_000);
      // Down for a while: many reconnect attempts, still one line.
      await new Promise((r) => setTimeout(r, 2_000));
      await own.restart();
      await sub.waitFor(/reconnected to/, 'stderr', 20_000);
      const pub = await runCli(['nats', 'publish', 'rc.subject', 'after', '-s', own.url]);
      expect(pub.code).toBe(0);
      await sub.waitFor(/after/);
      sub.kill('SIGINT');
      await sub.exited;
      const err = sub.stderr();
      expect(err.match(/nats: disconnected from/g)).toHaveLength(1);
      expect(err.match(/nats: reconnected to/g)).toHaveLength(1);
      expect(err).not.toMatch(/reconnecting\.\.\./);
    } finally {
      await own.stop();
    }
  });
});

describe('load mode ends on time', () => {
  it('--rate 1e9 --duration 2s finishes near 2 s and counts what could not start as not sent', async () => {
    const rep = startCli(['nats', 'reply', 'load.echo', ...s()]);
    await rep.waitFor(/replying on/, 'stderr');
    const t0 = performance.now();
    const r = await runCli(
      [
        'nats',
        'request',
        'load.echo',
        'x',
        '--rate',
        '1e9',
        '--duration',
        '2s',
        '--timeout',
        '2s',
        '--json',
        ...s(),
      ],
      { timeoutMs: 30_000 },
    );
    const ms = performance.now() - t0;
    expect(r.signal).toBeNull();
    // 2 s of calls, at most one --timeout (2 s) for the last ones in flight, plus start-up.
    expect(ms).toBeLessThan(9_000);
    const summary = ndjson<{ type: string; notSent?: number; requests: number }>(r.stdout).find(
      (l) => l.type === 'summary',
    );
    expect(summary?.requests).toBeGreaterThan(0);
    expect(summary?.notSent).toBeGreaterThan(1_000_000);
    const human = await runCli(
      ['nats', 'publish', 'load.pub', 'x', '--rate', '1e9', '--duration', '1s', ...s()],
      { timeoutMs: 30_000 },
    );
    expect(human.stderr).toMatch(
      /warning: [\d,]+ call\(s\) due before the end of --duration could not start in time/,
    );
    rep.kill('SIGINT');
  });
});
