import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

let serve: CliProcess;
let base: string;
let raw: Server;
let rawBase: string;
let tmp: string;

/**
 * A node:http server that completes the upgrade by hand and then misbehaves on the wire, as a
 * broken peer would: `/close-1011` sends a close frame 1011, `/drop-mid-frame` cuts a frame in half,
 * `/bad-utf8` sends a text frame that is not UTF-8, `/401` refuses the upgrade.
 */
function startRawServer(): Server {
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, socket: Socket) => {
    if (req.url === '/401') {
      socket.end(
        'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nContent-Length: 13\r\n\r\nlog in first\n',
      );
      return;
    }
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.on('error', () => undefined);
    socket.on('data', () => undefined);
    if (req.url === '/close-1011') {
      socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // text "hi"
      socket.write(Buffer.from([0x88, 0x06, 0x03, 0xf3, 0x6f, 0x6f, 0x70, 0x73])); // close 1011 "oops"
      setTimeout(() => socket.destroy(), 200);
    } else if (req.url === '/drop-mid-frame') {
      socket.write(Buffer.from([0x81, 0x7e, 0x01, 0x00, 0x61, 0x62, 0x63])); // 256-byte frame, 3 bytes sent
      setTimeout(() => socket.destroy(), 50);
    } else if (req.url === '/bad-utf8') {
      socket.write(Buffer.from([0x81, 0x02, 0xc3, 0x28]));
      setTimeout(() => socket.destroy(), 500);
    }
  });
  return server;
}

beforeAll(async () => {
  serve = startCli(['serve', 'ws', '--port', '0']);
  base = (await serve.waitFor(/^(ws:\/\/\S+)\n/))[1] ?? '';
  raw = startRawServer();
  rawBase = `ws://127.0.0.1:${await listen(raw)}`;
  tmp = mkdtempSync(join(tmpdir(), 'comms-ws-test-'));
});

afterAll(async () => {
  serve.kill('SIGINT');
  expect((await serve.exited).code).toBe(130);
  killSurvivors();
  raw.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('ws: send and receive', () => {
  it('sends -m messages, prints the echoes as they are, closes cleanly (exit 0)', async () => {
    const r = await runCli(['ws', `${base}/echo`, '-m', 'hello', '-m', 'n={{seq}}']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\nn=2\n');
    expect(r.stderr).toMatch(/connected ws:\/\/127\.0\.0\.1:\d+\/echo · 101/);
    expect(r.stderr).toMatch(/closed 1000 normal closure by client · 2 sent · 2 received/);
  });

  it('--json: one message object per message (contract shape) and a result with timing and close', async () => {
    const r = await runCli(['ws', `${base}/ticker?every=20ms`, '--count', '3', '--json']);
    expect(r.code).toBe(0);
    const lines = ndjson(r.stdout);
    expect(lines).toHaveLength(4);
    const [m1, , m3, result] = lines;
    expect(m1).toMatchObject({
      type: 'message',
      transport: 'ws',
      n: 1,
      url: `${base}/ticker?every=20ms`,
      encoding: 'json',
    });
    expect((m1.data as { tick: number }).tick).toBe(1);
    expect(m1?.size).toBeGreaterThan(0);
    expect(typeof m1?.received).toBe('string');
    expect(m3).toMatchObject({ n: 3 });
    expect(result).toMatchObject({
      type: 'result',
      transport: 'ws',
      ok: true,
      exit: 0,
      status: 101,
      messages: { sent: 0, received: 3 },
      close: { code: 1000, by: 'client' },
    });
    const timing = result?.timing as Record<string, number>;
    expect(timing.connect).toBeGreaterThanOrEqual(0);
    expect(timing.upgrade).toBeGreaterThan(0);
    expect(timing.total).toBeGreaterThanOrEqual(timing.upgrade ?? 0);
    expect(r.stderr).toBe('');
  });

  it('@file, --lines from stdin, --binary (base64 in --json), --count with --interval and {{seq}}', async () => {
    const file = join(tmp, 'msg.txt');
    writeFileSync(file, 'from-file');
    const a = await runCli(['ws', `${base}/echo`, '-m', `@${file}`]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe('from-file\n');

    const b = await runCli(['ws', `${base}/echo`, '--lines'], { input: 'one\ntwo\nthree\n' });
    expect(b.code).toBe(0);
    expect(b.stdout).toBe('one\ntwo\nthree\n');

    const c = await runCli([
      'ws',
      `${base}/echo`,
      '--binary',
      '-m',
      Buffer.from([0, 1, 2, 255]).toString('base64'),
      '--json',
    ]);
    expect(c.code).toBe(0);
    expect(ndjson(c.stdout)[0]).toMatchObject({
      data: 'AAEC/w==',
      encoding: 'base64',
      binary: true,
      size: 4,
    });

    const d = await runCli(['ws', `${base}/echo`, '-m', 'seq {{seq}}', '--count', '3', '--interval', '10ms']);
    expect(d.code).toBe(0);
    expect(d.stdout).toBe('seq 1\nseq 2\nseq 3\n');
  });

  it('sends -H headers, --origin and --subprotocol on the handshake', async () => {
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (p) => [...p][0] ?? false,
    });
    await new Promise((r) => wss.once('listening', r));
    const seen: Record<string, unknown> = {};
    wss.on('connection', (sock, req) => {
      seen.headers = req.headers;
      sock.send(JSON.stringify({ protocol: sock.protocol }));
    });
    const port = (wss.address() as { port: number }).port;
    try {
      const r = await runCli([
        'ws',
        `ws://127.0.0.1:${port}/`,
        '-H',
        'X-Test: yes',
        '--origin',
        'https://app.local',
        '--subprotocol',
        'chat.v2',
        '--count',
        '1',
        '--json',
      ]);
      expect(r.code).toBe(0);
      const headers = seen.headers as Record<string, string>;
      expect(headers['x-test']).toBe('yes');
      expect(headers.origin).toBe('https://app.local');
      expect(headers['sec-websocket-protocol']).toBe('chat.v2');
      const [m, result] = ndjson(r.stdout);
      expect(m?.data).toEqual({ protocol: 'chat.v2' });
      expect(result?.protocol).toBe('chat.v2');
    } finally {
      wss.close();
    }
  });

  it('--ping reports the pong round trip', async () => {
    const r = await runCli(['ws', `${base}/echo`, '--ping', '--json']);
    expect(r.code).toBe(0);
    const result = ndjson(r.stdout)[0];
    expect((result.ping as { ms: number }).ms).toBeGreaterThanOrEqual(0);
    // The ping leaves after the 101 and its pong comes back before the end: both read on one clock
    // (the pong's time was read on another, so the round trip came out ~250 ms too long).
    const timing = result.timing as Record<string, number>;
    // (+0.002: each of the three is rounded to the microsecond)
    expect(timing.upgrade! + (result.ping as { ms: number }).ms).toBeLessThanOrEqual(timing.total! + 0.002);
  });
});

describe('ws: timing', () => {
  /**
   * The result's timing: every phase from the start of the attempt that connected, on one clock.
   * (firstMessage was read on performance.now()'s clock, whose origin is process start, and came out
   * ~250 ms larger than total.)
   */
  const wsTiming = (stdout: string): Record<string, number> => {
    const result = ndjson(stdout).at(-1) as { type: string; timing: Record<string, number> };
    expect(result.type).toBe('result');
    const t = result.timing;
    expect(t.connect).toBeGreaterThanOrEqual(0);
    expect(t.upgrade).toBeGreaterThanOrEqual(t.connect as number);
    expect(t.firstMessage).toBeGreaterThanOrEqual(t.upgrade as number);
    expect(t.total).toBeGreaterThanOrEqual(t.firstMessage as number);
    return t;
  };

  /** Echoes each message after `delayMs`; with `refuseFirst`, the first upgrade is answered 503. */
  const startPeer = async (delayMs: number, refuseFirst = false) => {
    const server = createServer((_req, res) => res.writeHead(404).end());
    const wss = new WebSocketServer({ noServer: true });
    let upgrades = 0;
    server.on('upgrade', (req, socket: Socket, head) => {
      upgrades += 1;
      if (refuseFirst && upgrades === 1) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) =>
        ws.on('message', (data, isBinary) => {
          setTimeout(() => ws.send(data, { binary: isBinary }), delayMs);
        }),
      );
    });
    const url = `ws://127.0.0.1:${await listen(server)}`;
    return {
      url,
      close: () => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close();
      },
    };
  };

  it('echo: 0 <= connect <= upgrade <= firstMessage <= total', async () => {
    const r = await runCli(['ws', `${base}/echo`, '-m', 'hi', '--json']);
    expect(r.code, r.stderr).toBe(0);
    wsTiming(r.stdout);
  });

  it('ticker: the first tick is timed from the attempt start, before total', async () => {
    const r = await runCli(['ws', `${base}/ticker?every=100ms`, '--count', '3', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const t = wsTiming(r.stdout);
    // The first tick leaves the server 100ms after its upgrade, which comes after the attempt's start
    // (a bound from the start: a difference of two client readings shrinks when one is noticed late).
    expect(t.firstMessage).toBeGreaterThanOrEqual(98);
  });

  it('an answer delayed by 300ms: firstMessage >= 298, and <= total', async () => {
    const D = 300;
    const peer = await startPeer(D);
    try {
      const r = await runCli(['ws', `${peer.url}/`, '-m', 'hi', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const t = wsTiming(r.stdout);
      expect(t.firstMessage).toBeGreaterThanOrEqual(D - 2);
    } finally {
      peer.close();
    }
  });

  it('after a retried handshake the phases are those of the attempt that connected', async () => {
    const peer = await startPeer(0, true);
    try {
      const r = await runCli([
        'ws',
        `${peer.url}/`,
        '-m',
        'hi',
        '--retries',
        '1',
        '--backoff',
        '10ms',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const result = ndjson(r.stdout).at(-1) as {
        attempts: { ok: boolean; ms: number; timing: Record<string, number> }[];
        timing: Record<string, number>;
      };
      expect(result.attempts.map((a) => a.ok)).toEqual([false, true]);
      const t = wsTiming(r.stdout);
      const connected = result.attempts[1]!;
      expect(t.upgrade).toBe(connected.timing.upgrade);
      expect(t.total).toBeGreaterThanOrEqual(connected.ms);
    } finally {
      peer.close();
    }
  });
});

describe('ws: expectations and ends', () => {
  it('--expect-message: substring, /regex/ and path=value; a miss is exit 4 after --timeout', async () => {
    const ok = await runCli([
      'ws',
      `${base}/echo`,
      '-m',
      '{"type":"ready","n":3}',
      '--expect-message',
      'ready',
      '--expect-message',
      '/"n":\\d/',
      '--expect-message',
      '$.n=3',
      '-q',
    ]);
    expect(ok.code).toBe(0);
    const miss = await runCli([
      'ws',
      `${base}/echo`,
      '-m',
      'x',
      '--expect-message',
      '$.type=ready',
      '--timeout',
      '300ms',
    ]);
    expect(miss.code).toBe(4);
    expect(miss.stderr).toMatch(
      /error: idle for 300ms: expected a message matching \$\.type=ready, none of 1 did/,
    );
  });

  it('--until stops at the first matching message', async () => {
    const r = await runCli(['ws', `${base}/ticker?every=10ms`, '--until', '$.tick=3', '--json']);
    expect(r.code).toBe(0);
    const lines = ndjson(r.stdout);
    expect(lines.filter((l) => l.type === 'message')).toHaveLength(3);
  });

  it('--close-code/--close-reason are what the server receives', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((r) => wss.once('listening', r));
    const closed = new Promise<[number, string]>((resolve) =>
      wss.on('connection', (sock) => {
        sock.send('hi');
        sock.on('close', (code, reason) => resolve([code, reason.toString()]));
      }),
    );
    const port = (wss.address() as { port: number }).port;
    try {
      const r = await runCli([
        'ws',
        `ws://127.0.0.1:${port}`,
        '--count',
        '1',
        '--close-code',
        '4000',
        '--close-reason',
        'bye',
      ]);
      expect(r.code).toBe(0);
      expect(await closed).toEqual([4000, 'bye']);
    } finally {
      wss.close();
    }
  });

  it('an idle --timeout with nothing received is exit 4', async () => {
    const r = await runCli(['ws', `${base}/echo`, '--timeout', '200ms']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/idle for 200ms: no message/);
  });

  it('a server close 1011 is exit 1 with the code and reason; --expect-close 1011 makes it a success', async () => {
    const a = await runCli(['ws', `${rawBase}/close-1011`]);
    expect(a.code).toBe(1);
    expect(a.stdout).toBe('hi\n');
    expect(a.stderr).toMatch(/error: the server closed the connection: 1011 internal error 'oops'/);
    const b = await runCli(['ws', `${rawBase}/close-1011`, '--expect-close', '1011']);
    expect(b.code).toBe(0);
    const c = await runCli(['ws', `${base}/echo?close-code=4001`, '--expect-close', '1000']);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/expected the server to close with 1000, got 4001/);
  });

  it('a socket dropped mid-frame is 1006, exit 1', async () => {
    const r = await runCli(['ws', `${rawBase}/drop-mid-frame`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/dropped without a close frame \(1006 abnormal closure\)/);
    const s = await runCli(['ws', `${base}/echo?drop-after=1`, '-m', 'a', '-m', 'b', '--json']);
    expect(s.code).toBe(1);
    expect(ndjson(s.stdout).at(-1)).toMatchObject({
      ok: false,
      exit: 1,
      close: { code: 1006, by: 'server' },
    });
  });

  it('a text frame that is not UTF-8 is a one-line error, exit 1', async () => {
    const r = await runCli(['ws', `${rawBase}/bad-utf8`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: the server sent a text message that is not valid UTF-8/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('Ctrl-C closes cleanly (1000) and exits 130', async () => {
    const p = startCli(['ws', `${base}/ticker?every=20ms`, '--json']);
    await p.waitFor(/"n":2/);
    p.kill('SIGINT');
    const { code } = await p.exited;
    expect(code).toBe(130);
    const result = ndjson(p.stdout()).at(-1);
    expect(result).toMatchObject({ type: 'result', exit: 130, close: { code: 1000, by: 'client' } });
  });
});

describe('ws: handshake failures and resilience', () => {
  it('an upgrade answered 401 is exit 1 with the HTTP status shown', async () => {
    const r = await runCli(['ws', `${rawBase}/401`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: the server refused the WebSocket upgrade: HTTP 401 Unauthorized/);
    const j = await runCli(['ws', `${base}/echo?refuse=403`, '--json']);
    expect(j.code).toBe(1);
    expect(ndjson(j.stdout)[0]).toMatchObject({
      ok: false,
      exit: 1,
      status: 403,
      error: { kind: 'response' },
    });
  });

  it('a refused connection is exit 3', async () => {
    const r = await runCli(['ws', 'ws://127.0.0.1:1/']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/connection refused/);
  });

  it('--retries retries a 503 refusal; --breaker opens the circuit (exit 5)', async () => {
    const r = await runCli([
      'ws',
      `${base}/echo?refuse=503`,
      '--retries',
      '2',
      '--backoff',
      '10ms',
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect((ndjson(r.stdout)[0].attempts as unknown[]).length).toBe(3);
    const b = await runCli([
      'ws',
      `${base}/echo?refuse=503`,
      '--retries',
      '3',
      '--backoff',
      '10ms',
      '--breaker',
      '1',
    ]);
    expect(b.code).toBe(5);
    expect(b.stderr).toMatch(/circuit breaker is open/);
  });

  it('--reconnect keeps receiving across drops and counts reconnects', async () => {
    const r = await runCli([
      'ws',
      `${base}/ticker?every=10ms&drop-after=2`,
      '--reconnect',
      '--count',
      '5',
      '--backoff',
      '10ms',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const lines = ndjson(r.stdout);
    expect(lines.filter((l) => l.type === 'message')).toHaveLength(5);
    expect(lines.at(-1)).toMatchObject({ ok: true, reconnects: 2 });
  });

  it('wss:// with --cacert (and a one-line TLS error without it)', async () => {
    const certs: TestCerts = makeCerts();
    const https = createHttpsServer({
      cert: readFileSync(certs.serverCert),
      key: readFileSync(certs.serverKey),
    });
    const wss = new WebSocketServer({ server: https });
    wss.on('connection', (sock) => sock.send('secure'));
    const port = await listen(https);
    try {
      const ok = await runCli([
        'ws',
        `wss://localhost:${port}/`,
        '--cacert',
        certs.caCert,
        '--count',
        '1',
        '--json',
      ]);
      expect(ok.code).toBe(0);
      const [m, result] = ndjson(ok.stdout);
      expect(m?.data).toBe('secure');
      expect((result.timing as Record<string, number>).tls).toBeGreaterThan(0);
      const bad = await runCli(['ws', `wss://localhost:${port}/`, '--count', '1']);
      expect(bad.code).toBe(3);
      expect(bad.stderr).toMatch(/TLS handshake failed/);
      const insecure = await runCli(['ws', `wss://localhost:${port}/`, '-k', '--count', '1']);
      expect(insecure.code).toBe(0);
    } finally {
      wss.close();
      https.close();
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });
});

describe('ws: bad input is a one-line error, nothing sent', () => {
  it.each([
    [['ws', 'http://127.0.0.1:1/'], 2, /unsupported URL scheme 'http:'/],
    [['ws', 'not a url'], 2, /invalid URL 'not a url'/],
    [['ws', 'ws://127.0.0.1:1/', '--close-code', '1005'], 2, /invalid --close-code '1005'/],
    [['ws', 'ws://127.0.0.1:1/', '--close-code', '5000'], 2, /invalid --close-code '5000'/],
    [
      ['ws', 'ws://127.0.0.1:1/', '-m', '@/no/such/file'],
      2,
      /cannot read -m\/--message file '\/no\/such\/file': no such file/,
    ],
    [
      ['ws', 'ws://127.0.0.1:1/', '--expect-message', '/[/'],
      2,
      /invalid regular expression in --expect-message/,
    ],
    [['ws', 'ws://127.0.0.1:1/', '--expect-close', 'abc'], 2, /invalid --expect-close 'abc'/],
    [
      ['ws', 'ws://127.0.0.1:1/', '--binary', '-m', 'not base64!'],
      2,
      /invalid -m\/--message 'not base64!': not base64/,
    ],
  ])('%j → exit %i', async (args, code, re) => {
    const r = await runCli(args as string[]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(re as RegExp);
    expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(2);
  });
});

describe('lazy loading', () => {
  it('`comms-cli http get` loads neither ws nor eventsource-parser', async () => {
    const httpServer = createServer((_req, res) => res.end('ok'));
    const port = await listen(httpServer);
    const trace = join(tmp, 'loads.txt');
    writeFileSync(trace, '');
    try {
      const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/`], {
        env: {
          NODE_OPTIONS: `--import=${new URL('../fixtures/trace-loads.mjs', import.meta.url).href}`,
          COMMS_TRACE_FILE: trace,
        },
      });
      expect(r.code).toBe(0);
      const loaded = readFileSync(trace, 'utf8');
      expect(loaded).toMatch(/dist\/bundle\/main\.cjs/);
      expect(loaded).not.toMatch(/node_modules\/ws\/|eventsource-parser/);
    } finally {
      httpServer.close();
    }
  });
});
