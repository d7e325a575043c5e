import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { lastJson } from '../kit/ndjson.js';
import { serveHttp } from '../kit/serve.js';
import { killSurvivors, runCli } from '../kit/spawn-cli.js';

let served: Awaited<ReturnType<typeof serveHttp>>;
let base: string;
let tmp: string;

beforeAll(async () => {
  served = await serveHttp();
  base = served.url;
  tmp = mkdtempSync(join(tmpdir(), 'comms-http-test-'));
});

afterAll(async () => {
  await served?.stop();
  killSurvivors();
  rmSync(tmp, { recursive: true, force: true });
});

describe('http: retries and the circuit breaker', () => {
  it('a flaky endpoint succeeds after retries; every attempt is recorded with its wait', async () => {
    const r = await runCli([
      'http',
      'get',
      `${base}/flaky/2?key=retry-${Date.now()}&retry_after=0`,
      '--retries',
      '3',
      '--backoff',
      '10ms',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const attempts = lastJson(r.stdout).attempts as Array<{
      n: number;
      ok: boolean;
      status: number;
      waitMs?: number;
    }>;
    expect(attempts.map((a) => [a.n, a.ok, a.status])).toEqual([
      [1, false, 503],
      [2, false, 503],
      [3, true, 200],
    ]);
    expect(attempts[0]?.waitMs).toBeTypeOf('number');
    expect(attempts[2]?.waitMs).toBeUndefined();
  });

  it('gives up after --retries and exits 1 with the last status', async () => {
    const r = await runCli([
      'http',
      'get',
      `${base}/flaky/5?key=giveup-${Date.now()}&retry_after=0`,
      '--retries',
      '2',
      '--backoff',
      '5ms',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/attempt \d\/3 ✗ 503/g)).toHaveLength(3);
  });

  it('does not retry POST unless --retry-unsafe or an Idempotency-Key is sent; auto keeps one key across attempts', async () => {
    const keys: string[] = [];
    let calls = 0;
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      calls += 1;
      keys.push(String(req.headers['idempotency-key'] ?? ''));
      res.writeHead(calls % 3 === 0 ? 200 : 503, { 'retry-after': '0' }).end();
    });
    const port = await listen(server);
    try {
      const plain = await runCli([
        'http',
        'post',
        `http://127.0.0.1:${port}/`,
        '-d',
        'x',
        '--retries',
        '3',
        '--backoff',
        '5ms',
      ]);
      expect(plain.code).toBe(1);
      expect(calls).toBe(1);
      calls = 0;
      keys.length = 0;
      const auto = await runCli([
        'http',
        'post',
        `http://127.0.0.1:${port}/`,
        '-d',
        'x',
        '--retries',
        '3',
        '--backoff',
        '5ms',
        '--idempotency-key',
        'auto',
      ]);
      expect(auto.code).toBe(0);
      expect(keys).toHaveLength(3);
      expect(new Set(keys).size).toBe(1);
      expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
      calls = 0;
      const unsafe = await runCli([
        'http',
        'post',
        `http://127.0.0.1:${port}/`,
        '-d',
        'x',
        '--retries',
        '3',
        '--backoff',
        '5ms',
        '--retry-unsafe',
      ]);
      expect(unsafe.code).toBe(0);
      expect(calls).toBe(3);
    } finally {
      server.close();
    }
  });

  it('honours Retry-After given as an HTTP date (up to --backoff-max)', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls += 1;
      if (calls === 1) res.writeHead(503, { 'retry-after': new Date(Date.now() + 6000).toUTCString() }).end();
      else res.writeHead(200).end('ok');
    });
    const port = await listen(server);
    try {
      const r = await runCli([
        'http',
        'get',
        `http://127.0.0.1:${port}/`,
        '--retries',
        '1',
        '--backoff',
        '1ms',
        '--backoff-max',
        '1500ms',
        '--json',
      ]);
      expect(r.code).toBe(0);
      const [first] = lastJson(r.stdout).attempts as Array<{ waitMs: number }>;
      // The date is 5-6 s ahead (second precision), far beyond the cap even when the client reads it
      // seconds late on a busy machine: the wait follows it, capped at 1500ms.
      expect(first?.waitMs).toBe(1500);
    } finally {
      server.close();
    }
  });

  it('--breaker-state shares the breaker between invocations: open exits 5 and sends nothing', async () => {
    const state = join(tmp, 'breaker.json');
    let calls = 0;
    const server = createServer((_req, res) => {
      calls += 1;
      res.writeHead(500).end();
    });
    const port = await listen(server);
    const url = `http://127.0.0.1:${port}/`;
    try {
      // A long cooldown, so a slow machine cannot let it lapse between invocations.
      const args = [
        'http',
        'get',
        url,
        '--breaker',
        '2',
        '--breaker-cooldown',
        '60s',
        '--breaker-state',
        state,
      ];
      expect((await runCli(args)).code).toBe(1);
      expect((await runCli(args)).code).toBe(1);
      const open = await runCli([...args, '--json']);
      expect(open.code).toBe(5);
      expect(lastJson(open.stdout)).toMatchObject({ ok: false, exit: 5, error: { kind: 'breaker' } });
      expect(calls).toBe(2);
      // With a cooldown that has passed, one half-open trial goes through (and fails again here).
      const trial = [
        'http',
        'get',
        url,
        '--breaker',
        '2',
        '--breaker-cooldown',
        '1ms',
        '--breaker-state',
        state,
      ];
      expect((await runCli(trial)).code).toBe(1);
      expect(calls).toBe(3);
      // One breaker per origin: paths and query strings of one server share it.
      expect(JSON.parse(readFileSync(state, 'utf8'))).toHaveProperty([`http://127.0.0.1:${port}`]);
    } finally {
      server.close();
    }
  });

  it('four processes writing one --breaker-state file leave it valid, with every failure counted', async () => {
    const state = join(tmp, 'shared-breaker.json');
    const runs = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        runCli(['http', 'get', `${base}/status/503?i=${i}`, '--breaker', '10', '--breaker-state', state]),
      ),
    );
    for (const r of runs) expect(r.code).toBe(1);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as Record<string, { breakerState: number }>;
    expect(Object.keys(saved)).toEqual([base]);
    expect(saved[base]?.breakerState).toBe(4);
    expect(readdirSync(tmp).filter((f) => f.startsWith('shared-breaker.json.'))).toEqual([]);
  });

  it('a refused POST is retried (nothing reached the server), a 503 POST is not, with a hint', async () => {
    const refused = await runCli([
      'http',
      'post',
      'http://127.0.0.1:9/',
      '-d',
      'x',
      '--retries',
      '2',
      '--backoff',
      '1ms',
      '--json',
    ]);
    expect(refused.code).toBe(3);
    expect(JSON.parse(refused.stdout).attempts).toHaveLength(3);
    const unavailable = await runCli(['http', 'post', `${base}/status/503`, '-d', 'x', '--retries', '2']);
    expect(unavailable.code).toBe(1);
    expect(unavailable.stderr).toMatch(
      /hint: POST is not retried unless --retry-unsafe or --idempotency-key/,
    );
  });

  it('parallel invocations sharing --breaker-state count their failures together', async () => {
    const state = join(tmp, 'parallel.json');
    const args = [
      'http',
      'get',
      `${base}/status/503`,
      '--breaker',
      '3',
      '--breaker-cooldown',
      '60s',
      '--breaker-state',
      state,
    ];
    const runs = await Promise.all([runCli(args), runCli(args), runCli(args)]);
    for (const r of runs) expect(r.code).toBe(1);
    const next = await runCli(args);
    expect(next.code).toBe(5);
  });
});
