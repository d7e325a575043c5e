import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { ndjson } from '../kit/ndjson.js';
import { startPipeliningPeer } from '../kit/pipelining-peer.js';
import { serveHttp } from '../kit/serve.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/*
 * Load mode end to end: the built CLI against `comms-cli serve http` processes on loopback.
 * Latency assertions compare against a baseline measured in the same test (never a fixed speed),
 * or are lower bounds the injected delay/stall makes certain.
 */

interface Summary {
  type: string;
  requests: number;
  notSent?: number;
  successes: number;
  errors: number;
  errorRate: number;
  rps: number;
  latency: Record<'min' | 'mean' | 'stdev' | 'p50' | 'p90' | 'p99' | 'p999' | 'max', number>;
  statuses: Record<string, number>;
  errorKinds: Record<string, number>;
  gates: Array<{ figure: string; ok: boolean; message: string }>;
  exit: number;
  ok: boolean;
  error?: { kind: string; message: string };
  [k: string]: unknown;
}

function summaryOf(stdout: string): Summary {
  const all = ndjson(stdout);
  const last = all.at(-1) as Summary | undefined;
  expect(last?.type).toBe('summary');
  return last as Summary;
}

/** A node:http peer whose every 7th answer closes its connection, counting connections and requests. */
async function startClosingPeer() {
  let connections = 0;
  let requests = 0;
  const server: Server = createServer((_req, res) => {
    requests += 1;
    if (requests % 7 === 0) res.setHeader('connection', 'close');
    res.end('ok');
  });
  server.on('connection', () => {
    connections += 1;
  });
  const port = await listen(server);
  return {
    port,
    connections: () => connections,
    requests: () => requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const serve = serveHttp;
type Served = Awaited<ReturnType<typeof serveHttp>>;

let plain: Served;
let delayed: Served;

/**
 * A server's `--delay 50ms` is a timer, and Node timers may fire up to ~1 ms before the delay as the
 * client's clock sees it (libuv rounds its loop time to whole ms); lower bounds on latency allow this.
 */
const TIMER_SLACK_MS = 2;

beforeAll(async () => {
  [plain, delayed] = await Promise.all([serve(), serve(['--delay', '50ms'])]);
});

afterAll(async () => {
  await Promise.all([plain?.stop(), delayed?.stop()]);
  killSurvivors();
});

describe('load: honest numbers', () => {
  it('p50 is the injected 50 ms plus the round trip measured without it (never below the delay)', async () => {
    const args = ['-n', '200', '-c', '10', '--json'];
    const base = await runCli(['http', 'get', `${plain.url}/health`, ...args]);
    const slow = await runCli(['http', 'get', `${delayed.url}/health`, ...args]);
    expect(base.code).toBe(0);
    expect(slow.code).toBe(0);
    const b = summaryOf(base.stdout).latency;
    const s = summaryOf(slow.stdout);
    expect(s).toMatchObject({ requests: 200, successes: 200, errors: 0 });
    // Never faster than the delay the server adds (within the timer's slack); above delay + baseline
    // only by what a busy machine adds: the baseline's p90 and 25 ms of scheduling noise.
    expect(s.latency.p50).toBeGreaterThanOrEqual(50 - TIMER_SLACK_MS);
    expect(s.latency.min).toBeGreaterThanOrEqual(50 - TIMER_SLACK_MS);
    expect(s.latency.p50).toBeLessThanOrEqual(50 + b.p90 + 25);
  });

  it('a 1 s server stall shows up in p99 under --rate (latency from the scheduled start)', async () => {
    const stalled = await serve();
    try {
      const load = startCli([
        'http',
        'get',
        `${stalled.url}/health`,
        '--rate',
        '25',
        '--duration',
        '4s',
        '--json-all',
      ]);
      // Stall the server process once calls are flowing: SIGSTOP freezes it as a GC pause or a stuck host would.
      await load.waitFor(/"type":"call"/);
      const pid = stalled.proc.child.pid ?? 0;
      process.kill(pid, 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 1000));
      process.kill(pid, 'SIGCONT');
      const { code } = await load.exited;
      expect(code).toBe(0);
      const s = summaryOf(load.stdout());
      const calls = ndjson(load.stdout()).filter((l) => l.type === 'call');
      expect(calls).toHaveLength(s.requests);
      // Every one of the 100 scheduled calls is sent, or (on a machine so loaded that the queue built
      // during the stall had not drained by the end of --duration) counted as not sent: none vanish.
      expect(s.requests + (s.notSent ?? 0)).toBe(100);
      expect(s.requests).toBeGreaterThanOrEqual(90);
      // ~25 calls were due during the stall; none could finish before it ended. The first of them
      // (due at most 40 ms after the stall began) waited nearly the whole second, so the top 1% sits
      // near 1 s, while the median stays a plain round trip. The rate is modest on purpose: on a loaded
      // 2-core machine a CLI and a server cannot keep up with 100/s, and then every call queues.
      expect(s.latency.max).toBeGreaterThanOrEqual(900);
      expect(s.latency.p99).toBeGreaterThanOrEqual(800);
      expect(s.latency.p50).toBeLessThan(s.latency.p99 / 2);
    } finally {
      stalled.proc.kill('SIGCONT');
      stalled.proc.kill('SIGINT');
      await stalled.proc.exited;
    }
  });
});

describe('load: --json summary and exit codes', () => {
  it('--json prints exactly one summary line with the contract fields', async () => {
    const r = await runCli(['http', 'get', `${plain.url}/health`, '-n', '50', '-c', '5', '--json']);
    expect(r.code).toBe(0);
    expect(ndjson(r.stdout)).toHaveLength(1);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({
      type: 'summary',
      transport: 'http',
      operation: 'GET',
      target: `${plain.url}/health`,
      ok: true,
      exit: 0,
      requests: 50,
      successes: 50,
      errors: 0,
      statuses: { '200': 50 },
      attempts: 50,
      retries: 0,
      shortCircuits: 0,
      mode: 'closed',
      concurrency: 5,
    });
    expect(Object.keys(s.latency).sort()).toEqual([
      'max',
      'mean',
      'min',
      'p50',
      'p90',
      'p99',
      'p999',
      'stdev',
    ]);
    expect(s.rps).toBeGreaterThan(0);
    expect(s.bytes as number).toBeGreaterThan(0);
    expect(r.stderr).toBe('');
  });

  it('human mode: summary, latency line and histogram on stderr; stdout stays empty', async () => {
    const r = await runCli(['http', 'get', `${plain.url}/health`, '-n', '30']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^load: GET http:\/\/127\.0\.0\.1:\d+\/health · 30 calls · closed loop, 10 in flight/m,
    );
    expect(r.stderr).toMatch(/30 calls in .* req\/s/);
    expect(r.stderr).toMatch(/latency +min .* p50 .* p90 .* p99 .* p99\.9 .* max /);
    expect(r.stderr).toMatch(/│█+ *\d+/);
  });

  it('--expect-p99 and --expect-p50 missed: exit 1 naming the figure', async () => {
    const r = await runCli([
      'http',
      'get',
      `${delayed.url}/health`,
      '-n',
      '20',
      '--expect-p99',
      '10ms',
      '--expect-p50',
      '1s',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const s = summaryOf(r.stdout);
    expect(s.gates.map((g) => [g.figure, g.ok])).toEqual([
      ['p99', false],
      ['p50', true],
    ]);
    expect(s.error).toMatchObject({ kind: 'expectation' });
    expect(r.stderr).toMatch(/error: p99 [\d.]+ms > --expect-p99 10\.0ms/);
  });

  it('--min-rps missed: exit 1 naming throughput', async () => {
    const r = await runCli(['http', 'get', `${plain.url}/health`, '-n', '20', '--min-rps', '10000000']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: throughput [\d.]+ req\/s < --min-rps 10000000 req\/s/);
  });

  it('failed calls: exit with the failure code unless --max-error-rate accepts them', async () => {
    const failing = await runCli(['http', 'get', `${plain.url}/status/500`, '-n', '20', '--json']);
    expect(failing.code).toBe(1);
    expect(summaryOf(failing.stdout)).toMatchObject({
      errors: 20,
      errorRate: 100,
      statuses: { '500': 20 },
      errorKinds: { response: 20 },
    });
    expect(failing.stderr).toMatch(/error: 20 of 20 calls failed \(response ×20\)/);

    const accepted = await runCli([
      'http',
      'get',
      `${plain.url}/status/500`,
      '-n',
      '20',
      '--max-error-rate',
      '100',
    ]);
    expect(accepted.code).toBe(0);
    const over = await runCli([
      'http',
      'get',
      `${plain.url}/status/500`,
      '-n',
      '20',
      '--max-error-rate',
      '5%',
    ]);
    expect(over.code).toBe(1);
    expect(over.stderr).toMatch(/error: error rate 100% > --max-error-rate 5%/);

    const expected = await runCli([
      'http',
      'get',
      `${plain.url}/status/404`,
      '-n',
      '10',
      '--expect-status',
      '404',
    ]);
    expect(expected.code).toBe(0);
  });

  it('an unreachable peer: every call fails to connect, exit 3, counted by kind', async () => {
    const gone = await serve();
    gone.proc.kill('SIGINT');
    await gone.proc.exited;
    const r = await runCli(['http', 'get', `${gone.url}/health`, '-n', '10', '-c', '2', '--json']);
    expect(r.code).toBe(3);
    expect(summaryOf(r.stdout)).toMatchObject({
      requests: 10,
      errors: 10,
      errorKinds: { connect: 10 },
      exit: 3,
    });
  });

  it('a --timeout shorter than the server: every call times out (exit 4), counted as timeouts, no status', async () => {
    const r = await runCli([
      'http',
      'get',
      `${delayed.url}/health`,
      '-n',
      '30',
      '-c',
      '5',
      '--timeout',
      '10ms',
      '--json',
    ]);
    expect(r.code).toBe(4);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ requests: 30, successes: 0, errors: 30, errorKinds: { timeout: 30 }, exit: 4 });
    // No status: each call was cut off at its deadline, before the server's reply (a transport that
    // ignored the abort would have waited for the 200 and counted a success).
    expect(s.statuses).toEqual({});
  });

  it('retries under load are counted', async () => {
    // /flaky/1 fails once per key; {{seq}} gives every call its own key, so each call retries once.
    const r = await runCli([
      'http',
      'get',
      `${plain.url}/flaky/1?key=k{{seq}}&retry_after=0`,
      '-n',
      '10',
      '-c',
      '2',
      '--retries',
      '2',
      '--backoff',
      '1ms',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(summaryOf(r.stdout)).toMatchObject({ requests: 10, successes: 10, attempts: 20, retries: 10 });
  });

  it("--expect-header and --json-all read every reply's headers (parsed only when something reads them)", async () => {
    const base = ['http', 'get', `${plain.url}/json`, '-n', '12', '-c', '3'];
    const held = await runCli([...base, '--expect-header', 'content-type: application/json', '--json']);
    expect(held.code).toBe(0);
    expect(summaryOf(held.stdout)).toMatchObject({ requests: 12, successes: 12, errors: 0 });

    const missed = await runCli([...base, '--expect-header', 'X-Missing: 1', '--json']);
    expect(missed.code).toBe(1);
    expect(summaryOf(missed.stdout)).toMatchObject({
      requests: 12,
      errors: 12,
      statuses: { '200': 12 },
      errorKinds: { expectation: 12 },
    });

    const all = await runCli(['http', 'get', `${plain.url}/json`, '-n', '3', '-c', '1', '--json-all']);
    expect(all.code).toBe(0);
    const calls = ndjson(all.stdout).filter((l) => (l as { type?: string }).type === 'call') as Array<{
      headers: Record<string, string>;
      bytes: number;
    }>;
    expect(calls).toHaveLength(3);
    for (const c of calls) {
      expect(c.headers['content-type']).toBe('application/json');
      expect(c.headers['content-length']).toMatch(/^\d+$/);
      expect(c.bytes).toBe(Number(c.headers['content-length']));
    }
  });

  it('--connections below -c: calls queue for the connections there are, and the server sees only those', async () => {
    // Every 7th response closes its connection: the pool reconnects on the next request.
    const peer = await startClosingPeer();
    const { port } = peer;
    try {
      const r = await runCli([
        'http',
        'get',
        `http://127.0.0.1:${port}/`,
        '-n',
        '140',
        '-c',
        '10',
        '--connections',
        '2',
        '--json',
      ]);
      expect(r.code).toBe(0);
      expect(summaryOf(r.stdout)).toMatchObject({ requests: 140, successes: 140, errors: 0 });
      expect(peer.requests()).toBe(140);
      // Two to start with, one more after each closing response (20 of them), never more.
      expect(peer.connections()).toBeGreaterThanOrEqual(2);
      expect(peer.connections()).toBeLessThanOrEqual(2 + 20);
    } finally {
      await peer.stop();
    }
  });

  it('--pipelining N: N requests in flight per connection, -c / N connections, every answer counted', async () => {
    const peer = await startPipeliningPeer(2);
    try {
      const r = await runCli([
        'http',
        'get',
        peer.url,
        '-n',
        '200',
        '-c',
        '10',
        '--pipelining',
        '5',
        '--json',
      ]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(summaryOf(r.stdout)).toMatchObject({ requests: 200, successes: 200, errors: 0 });
      expect(peer.requests()).toBe(200);
      expect(peer.connections()).toBe(2);
      expect(peer.maxUnanswered()).toBeGreaterThan(1);
      expect(peer.maxUnanswered()).toBeLessThanOrEqual(5);
    } finally {
      await peer.stop();
    }
  });

  it('without --pipelining a connection never has a second request waiting for an answer', async () => {
    const peer = await startPipeliningPeer(1);
    try {
      // No -c: the closed loop's default of 10 in flight, on as many connections.
      const r = await runCli(['http', 'get', peer.url, '-n', '100', '--json']);
      expect(r.code).toBe(0);
      expect(summaryOf(r.stdout)).toMatchObject({ requests: 100, successes: 100, concurrency: 10 });
      expect(peer.connections()).toBe(10);
      expect(peer.maxUnanswered()).toBe(1);
    } finally {
      await peer.stop();
    }
  });

  it('--pipelining against a server that closes connections: each call is counted once, and --retries resends', async () => {
    // Every 7th answer closes its connection. Requests pipelined behind it are sent again by undici,
    // unless the socket broke first (EPIPE/ECONNRESET): then the oldest unanswered one fails (connect).
    const peer = await startClosingPeer();
    const { port } = peer;
    const args = ['http', 'get', `http://127.0.0.1:${port}/`, '-n', '140', '-c', '6', '--pipelining', '3'];
    try {
      const plain = await runCli([...args, '--json']);
      const s = summaryOf(plain.stdout);
      expect(s.requests).toBe(140);
      expect(s.successes + s.errors).toBe(140);
      expect(Object.keys(s.errorKinds).filter((k) => k !== 'connect')).toEqual([]);
      expect(plain.code).toBe(s.errors === 0 ? 0 : 3);
      // The pipelined path with retries (the Agent's): a failed write is sent again and succeeds.
      const retried = await runCli([...args, '--retries', '5', '--json']);
      expect(retried.code).toBe(0);
      expect(summaryOf(retried.stdout)).toMatchObject({ requests: 140, successes: 140, errors: 0 });
      expect(peer.connections()).toBeGreaterThan(2);
    } finally {
      await peer.stop();
    }
  });

  it('--pipelining against a refused port: every call is a connect error (exit 3), nothing crashes', async () => {
    const server = createServer();
    const port = await listen(server);
    await new Promise((resolve) => server.close(resolve));
    // -c 5 with room for 10: the one connection is partly used when its connect fails.
    const r = await runCli([
      'http',
      'get',
      `http://127.0.0.1:${port}/`,
      '-n',
      '20',
      '-c',
      '5',
      '--pipelining',
      '10',
      '--json',
    ]);
    expect(r.code).toBe(3);
    const s = summaryOf(r.stdout);
    expect(s).toMatchObject({ requests: 20, successes: 0, errors: 20 });
    expect(Object.keys(s.errorKinds)).toEqual(['connect']);
    expect(r.stderr).toMatch(/^error: 20 of 20 calls failed \(connect ×20\)$/m);
    expect(r.stderr).not.toMatch(/AssertionError|\n\s+at /);
  });

  it('bad --pipelining is a usage error (exit 2) and nothing is sent', async () => {
    const peer = await startPipeliningPeer(1);
    try {
      const zero = await runCli(['http', 'get', peer.url, '-n', '5', '--pipelining', '0']);
      expect(zero.code).toBe(2);
      expect(zero.stderr).toMatch(/^error: invalid --pipelining '0'/);
      const oneShot = await runCli(['http', 'get', peer.url, '--pipelining', '4']);
      expect(oneShot.code).toBe(2);
      expect(oneShot.stderr).toMatch(/--pipelining needs load mode/);
      const post = await runCli(['http', 'post', peer.url, '-d', 'x', '-n', '5', '--pipelining', '4']);
      expect(post.code).toBe(2);
      expect(post.stderr).toMatch(/--pipelining pipelines GET, PUT, DELETE and OPTIONS requests, not POST/);
      const head = await runCli(['http', 'head', peer.url, '-n', '5', '--pipelining', '4']);
      expect(head.code).toBe(2);
      const h2 = await runCli(['http', 'get', peer.url, '-n', '5', '--pipelining', '4', '--http2']);
      expect(h2.code).toBe(2);
      expect(h2.stderr).toMatch(/--pipelining is for HTTP\/1\.1/);
      expect(peer.requests()).toBe(0);
    } finally {
      await peer.stop();
    }
  });

  it('bad load flags are usage errors (exit 2) and nothing is sent', async () => {
    const r = await runCli(['http', 'get', `${plain.url}/health`, '--rate', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --rate '0'/);
    const c = await runCli(['http', 'get', `${plain.url}/health`, '-n', '5', '-c', 'many']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/invalid -c.* 'many'/);
  });
});

describe('load: Ctrl-C', () => {
  it('stops the load, drains in-flight calls and still prints the summary (exit 130)', async () => {
    const load = startCli([
      'http',
      'get',
      `${plain.url}/delay/100ms`,
      '--duration',
      '60s',
      '-c',
      '4',
      '--json-all',
    ]);
    await load.waitFor(/"type":"call"/);
    load.kill('SIGINT');
    const { code } = await load.exited;
    expect(code).toBe(130);
    const s = summaryOf(load.stdout());
    expect(s.error).toMatchObject({ kind: 'interrupted' });
    expect(s.requests).toBeGreaterThanOrEqual(1);
    expect(s.requests).toBe(ndjson(load.stdout()).filter((l) => l.type === 'call').length);
    expect(load.stderr()).toMatch(/error: interrupted after \d+ call\(s\)/);
  });
});
