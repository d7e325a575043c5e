import type { Server } from 'node:http';
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { listen } from '../kit/listen.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

interface Summary {
  type: string;
  requests: number;
  successes: number;
  errors: number;
  exit: number;
  statuses: Record<string, number>;
  errorKinds: Record<string, number>;
  latency: { p50: number; p99: number; max: number };
  gates: { flag: string; ok: boolean }[];
  connections: {
    size: number;
    opened: number;
    failed: Record<string, number>;
    handshake: { min: number; max: number };
    closes: Record<string, number>;
    unmatched: number;
  };
}

function summaryOf(stdout: string): Summary {
  const lines = stdout.trim().split('\n').filter(Boolean);
  const last = JSON.parse(lines[lines.length - 1] ?? '{}') as Summary;
  expect(last.type).toBe('summary');
  return last;
}

let serve: CliProcess;
let echo: string;
let peer: Server;
let peerBase: string;
/** Replies the out-of-order peer sent in a different order than it received the requests. */
let reordered = 0;

/**
 * A node `ws` peer with the behaviours the load mode must cope with:
 * - `/reverse`: JSON requests `{"id":..}` answered `{"id":..,"echo":..}` in pairs, the second request
 *   of each pair first (so replies arrive out of order), an odd one out after 20 ms; `?extra=1`
 *   also pushes one message nobody asked for;
 * - `/close-after-5`: echoes five messages, then closes with 1011 on the sixth instead of answering.
 */
function startPeer(): Server {
  const server = createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws: WebSocket, req) => {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname === '/close-after-5') {
      let n = 0;
      ws.on('message', (data: RawData) => {
        n += 1;
        if (n > 5) ws.close(1011, 'boom');
        else ws.send(data as Buffer, { binary: false });
      });
      return;
    }
    if (url.searchParams.has('extra')) ws.send(JSON.stringify({ id: 'nobody-asked', push: true }));
    let held: { id: unknown }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      const batch = held.reverse();
      if (batch.length > 1) reordered += 1;
      held = [];
      for (const m of batch) ws.send(JSON.stringify({ id: m.id, echo: m }));
    };
    ws.on('message', (data: RawData) => {
      held.push(JSON.parse(String(data)) as { id: unknown });
      if (held.length >= 2) flush();
      else timer = setTimeout(flush, 20);
    });
  });
  return server;
}

beforeAll(async () => {
  serve = startCli(['serve', 'ws', '--port', '0']);
  echo = (await serve.waitFor(/^(ws:\/\/\S+)\n/))[1] ?? '';
  peer = startPeer();
  peerBase = `ws://127.0.0.1:${await listen(peer)}`;
});

afterAll(async () => {
  serve.kill('SIGINT');
  await serve.exited;
  killSurvivors();
  peer.closeAllConnections();
  peer.close();
});

describe('ws load mode', () => {
  it('echo round trips over -c connections: HDR summary, handshakes apart, exit 0', async () => {
    const r = await runCli([
      'ws',
      `${echo}/echo`,
      '-m',
      'n={{seq}}',
      '-n',
      '200',
      '-c',
      '5',
      '--expect-message',
      '/^n=\\d+$/',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ requests: 200, successes: 200, errors: 0, exit: 0, statuses: { reply: 200 } });
    expect(s.latency.p50).toBeGreaterThan(0);
    expect(s.connections).toMatchObject({ size: 5, opened: 5, failed: {}, closes: {}, unmatched: 0 });
    expect(s.connections.handshake.min).toBeGreaterThan(0);
  });

  it('prints the person summary with the connections block on stderr, nothing on stdout', async () => {
    const r = await runCli(['ws', `${echo}/echo`, '-m', 'hi', '-n', '20', '-c', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/20 calls in/);
    expect(r.stderr).toMatch(/connects\s+2 connection\(s\) · 2 handshake\(s\) ok · 0 failed/);
    expect(r.stderr).toMatch(/handshake\s+min/);
  });

  it('--reply-match pairs replies that arrive out of order by id', async () => {
    const before = reordered;
    const r = await runCli([
      'ws',
      `${peerBase}/reverse`,
      '-m',
      '{"id":"{{seq}}","op":"ping"}',
      '--reply-match',
      '$.id',
      '--rate',
      '200',
      '-n',
      '40',
      '-c',
      '1',
      '--expect-message',
      '$.echo.op=ping',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ requests: 40, successes: 40, errors: 0 });
    expect(s.connections.unmatched).toBe(0);
    // The peer really answered out of order (pairs reversed), and every reply still paired.
    expect(reordered).toBeGreaterThan(before);
  });

  it('--reply-match counts a message no request waits for as unmatched', async () => {
    const r = await runCli([
      'ws',
      `${peerBase}/reverse?extra=1`,
      '-m',
      '{"id":{{seq}}}',
      '--reply-match',
      'id',
      '-n',
      '6',
      '-c',
      '1',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ requests: 6, successes: 6 });
    expect(s.connections.unmatched).toBe(1);
  });

  it('a peer closing with 1011 mid-run: the message fails with that close code, the slot reconnects', async () => {
    const r = await runCli(['ws', `${peerBase}/close-after-5`, '-m', 'x', '-n', '10', '-c', '1', '--json']);
    expect(r.code).toBe(1);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({
      requests: 10,
      successes: 9,
      errors: 1,
      statuses: { reply: 9, '1011': 1 },
      errorKinds: { response: 1 },
    });
    expect(s.connections).toMatchObject({ size: 1, opened: 2, closes: { '1011': 1 } });
    expect(r.stderr).toMatch(/1 of 10 calls failed/);
  });

  it('--max-error-rate accepts the close within budget; the human summary lists closes by code', async () => {
    const r = await runCli([
      'ws',
      `${peerBase}/close-after-5`,
      '-m',
      'x',
      '-n',
      '10',
      '-c',
      '1',
      '--max-error-rate',
      '20',
    ]);
    expect(r.code).toBe(0);
    // (JSON objects keep integer-like keys first, so 1011 may print before reply)
    expect(r.stderr).toMatch(/statuses\s+.*1011 ×1/);
    expect(r.stderr).toMatch(/statuses\s+.*reply ×9/);
    expect(r.stderr).toMatch(/closes\s+1011 ×1 \(by the peer\)/);
  });

  it('serve ws closing with 1011 after n messages: closes counted by code, reconnections made', async () => {
    const r = await runCli([
      'ws',
      `${echo}/echo?drop-after=10&close-code=1011`,
      '-m',
      'x',
      '-n',
      '100',
      '-c',
      '2',
      '--max-error-rate',
      '100',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const s = summaryOf(r.stdout);
    expect(s.requests).toBe(100);
    expect(s.connections.closes['1011']).toBeGreaterThanOrEqual(5);
    expect(s.connections.opened).toBeGreaterThan(2);
    // A message either got its reply or failed with the peer's close code: nothing else.
    expect(Object.keys(s.statuses).every((k) => k === 'reply' || k === '1011')).toBe(true);
  });

  it('refused connections are counted errors of kind connect: exit 3', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await runCli(['ws', `ws://127.0.0.1:${port}/`, '-m', 'x', '-n', '5', '-c', '2', '--json']);
    expect(r.code).toBe(3);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ requests: 5, errors: 5, errorKinds: { connect: 5 } });
    expect(s.connections.opened).toBe(0);
    expect(s.connections.failed.connect).toBeGreaterThanOrEqual(5);
    expect(r.stderr).toMatch(/5 of 5 calls failed \(connect ×5\)/);
  });

  it('a refused upgrade (401) fails every message: counted by status, exit 1', async () => {
    const r = await runCli(['ws', `${echo}/echo?refuse=401`, '-m', 'x', '-n', '3', '-c', '1', '--json']);
    expect(r.code).toBe(1);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ requests: 3, errors: 3 });
    expect(s.connections.failed['401']).toBeGreaterThanOrEqual(3);
  });

  it('--duration with --rate (open loop) and the --expect-p99 gate (exit 1 when missed)', async () => {
    const ok = await runCli([
      'ws',
      `${echo}/echo`,
      '-m',
      'x',
      '--rate',
      '100',
      '--duration',
      '300ms',
      '-c',
      '2',
      '--json',
    ]);
    expect(ok.code).toBe(0);
    const s = summaryOf(ok.stdout);
    expect(s.requests).toBeGreaterThan(0);
    const slow = await runCli([
      'ws',
      `${echo}/echo?delay=30ms`,
      '-m',
      'x',
      '-n',
      '4',
      '-c',
      '1',
      '--expect-p99',
      '5ms',
      '--json',
    ]);
    expect(slow.code).toBe(1);
    const g = summaryOf(slow.stdout);
    expect(g.gates).toEqual([expect.objectContaining({ flag: '--expect-p99', ok: false })]);
  });

  it('a reply slower than --timeout is a timeout error (exit 4); the connection is replaced', async () => {
    const r = await runCli([
      'ws',
      `${echo}/echo?delay=2s`,
      '-m',
      'x',
      '-n',
      '2',
      '-c',
      '1',
      '--timeout',
      '100ms',
      '--json',
    ]);
    expect(r.code).toBe(4);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ requests: 2, errors: 2, errorKinds: { timeout: 2 }, statuses: { timeout: 2 } });
    // The late reply can never pair with the next message: the timed-out connection was dropped
    // and the second message opened another (or, on a slow machine, timed out opening it).
    expect(s.connections.opened + (s.connections.failed.timeout ?? 0)).toBe(2);
  });

  it('Ctrl-C prints the summary of what completed and exits 130', async () => {
    const p = startCli(['ws', `${echo}/echo?delay=5ms`, '-m', 'x', '--duration', '60s', '-c', '2']);
    await p.waitFor(/^load: /m, 'stderr');
    p.kill('SIGINT');
    const { code } = await p.exited;
    expect(code).toBe(130);
    expect(p.stderr()).toMatch(/calls in/);
    expect(p.stderr()).toMatch(/connects\s+2 connection/);
    expect(p.stderr()).toMatch(/interrupted after \d+ call/);
  });

  it.each([
    [['-n', '5'], /ws load mode needs a message to send: -m/],
    [['-m', 'x', '--reply-match', '$.id'], /--reply-match is for load mode/],
    [['-m', 'not json', '-n', '5', '--reply-match', '$.id'], /--reply-match \$\.id: the message is not JSON/],
    [['-m', '{"id":1}', '-n', '5', '--reply-match', '$.id'], /every message needs its own id/],
    [['-m', '{"x":"{{seq}}"}', '-n', '5', '--reply-match', '$.id'], /no string or number at that path/],
    [['-m', '{"id":"{{seq}}"}', '-n', '5', '--reply-match', '$..[id'], /invalid --reply-match/],
    [['-m', 'eA==', '--binary', '-n', '5', '--reply-match', '$.id'], /not with --binary/],
    [['-m', 'x', '-n', '5', '--listen'], /--listen is not available in ws load mode/],
    [['-m', 'x', '-n', '5', '--count', '3'], /--count is not available in ws load mode/],
    [['-m', 'x', '-n', '0'], /-n/],
    [['-m', 'x', '-n', '5', '--connections', '4'], /in ws load mode -c is the number of connections/],
  ])('bad input %j: one-line error, exit 2, nothing sent', async (args, message) => {
    const r = await runCli(['ws', `${echo}/echo`, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
