import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { type NatsServer, startNatsServer } from '../kit/nats-server.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/*
 * Distributed load end to end on one machine: a private nats-server, three `comms-cli worker`
 * processes, a node:http server answering after a known delay. Each test uses its own pool prefix, so
 * a worker still finishing one test's run never answers another's.
 */
const DELAY_MS = 20;

interface Summary {
  type: string;
  requests: number;
  errors: number;
  exit: number;
  ok: boolean;
  latency: { p50: number; p99: number; min: number };
  gates: { flag: string; ok: boolean; actual: number }[];
  workers: { name: string; requests: number; errors: number; rps: number; lost?: boolean }[];
  partial?: boolean;
  lost?: string[];
  histogram: { count: number };
  error?: { kind: string; message: string };
}

function lastJson(stdout: string): Summary {
  const line = stdout.trim().split('\n').filter(Boolean).at(-1) ?? '{}';
  return JSON.parse(line) as Summary;
}

describe('comms-cli worker pool over NATS', () => {
  let nats: NatsServer;
  let http: Server;
  let url: string;
  let served = 0;
  let prefixN = 0;
  let workers: CliProcess[] = [];

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: false });
    http = createServer((_req, res) => {
      served += 1;
      setTimeout(() => res.end('ok'), DELAY_MS);
    });
    url = `http://127.0.0.1:${await listen(http)}/`;
  });
  afterEach(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    workers = [];
  });
  afterAll(async () => {
    killSurvivors();
    await nats?.stop();
    await new Promise<void>((r) => http.close(() => r()));
  });

  /** Three workers in a fresh pool; resolves once all three are waiting for plans. */
  async function pool(n = 3, extra: string[] = []): Promise<string> {
    prefixN += 1;
    const prefix = `t${process.pid}.p${prefixN}`;
    workers = Array.from({ length: n }, (_, i) =>
      startCli(['worker', '--server', nats.url, '--name', `w${i + 1}`, '--prefix', prefix, ...extra]),
    );
    await Promise.all(workers.map((w) => w.waitFor(/waiting for plans/, 'stderr', 20_000)));
    return prefix;
  }

  const coord = (prefix: string, ...args: string[]) => [
    '--workers',
    '3',
    '--workers-server',
    nats.url,
    '--workers-prefix',
    prefix,
    ...args,
  ];

  it('splits -n over three workers, merges exactly: total = sum of workers, p50 right for the delay', async () => {
    const prefix = await pool();
    const before = served;
    const run = await runCli(['http', 'get', url, '-n', '150', '-c', '6', ...coord(prefix), '--json'], {
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(0);
    const s = lastJson(run.stdout);
    expect(s.type).toBe('summary');
    expect(s.requests).toBe(150);
    expect(served - before).toBe(150);
    expect(s.workers.map((w) => w.name).sort()).toEqual(['w1', 'w2', 'w3']);
    expect(s.workers.reduce((a, w) => a + w.requests, 0)).toBe(s.requests);
    expect(s.workers.map((w) => w.requests)).toEqual([50, 50, 50]);
    expect(s.histogram.count).toBe(150);
    // A timer may fire ~1 ms early; a loaded machine adds latency, never removes it.
    expect(s.latency.p50).toBeGreaterThanOrEqual(DELAY_MS - 2);
    expect(s.latency.p50).toBeLessThan(DELAY_MS * 25);
  }, 90_000);

  it('judges gates on the merged data (exit 1 when the merged p99 misses) and lists the workers', async () => {
    const prefix = await pool();
    const run = await runCli(
      ['http', 'get', url, '-n', '60', '-c', '3', ...coord(prefix), '--expect-p99', '5ms'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(
      /split over 3 workers \(k6 execution segments\): w1 \[0:1\/3\] -n 20 -c 1 · w2/,
    );
    expect(run.stderr).toMatch(/p99 [\d.]+m?s > --expect-p99 5(\.0)?ms/);
    expect(run.stderr).toMatch(/workers\n\s+w1\s+20 calls/);
  }, 90_000);

  it('--abort-on-fail: a gate failing mid-run on the merged data stops every worker (exit 1)', async () => {
    const prefix = await pool();
    const started = Date.now();
    const run = await runCli(
      [
        'http',
        'get',
        url,
        '--duration',
        '60s',
        '-c',
        '3',
        ...coord(prefix),
        '--expect-p99',
        '1ms',
        '--abort-on-fail',
      ],
      { timeoutMs: 60_000 },
    );
    expect(run.code, run.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(40_000);
    expect(run.stderr).toMatch(/gate failed mid-run: p99 .* > --expect-p99 1(\.0)?ms; stopping every worker/);
    await Promise.all(workers.map((w) => w.waitFor(/run [0-9a-f]+: done/, 'stderr', 15_000)));
  }, 90_000);

  it('exits 3 naming how many answered when too few workers are free', async () => {
    const prefix = await pool(2);
    const run = await runCli(
      ['http', 'get', url, '-n', '30', ...coord(prefix), '--workers-timeout', '1500ms'],
      { timeoutMs: 30_000 },
    );
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/only 2 of 3 workers answered/);
  }, 60_000);

  it('refuses plans that read local files, run programs or reach other hosts, with the reason', async () => {
    const prefix = await pool();
    const cases: [string[], RegExp][] = [
      [
        ['http', 'get', url, '-n', '30', '--breaker', '5', '--breaker-state', '/tmp/comms-worker-state.json'],
        /refused the plan: reads or writes a local file \(--breaker-state\)/,
      ],
      [
        ['http', 'get', 'http://10.1.2.3:8080/', '-n', '30'],
        /refused the plan: target '10\.1\.2\.3' is outside this worker's --allow-targets/,
      ],
      [['http', 'get', url, '-n', '30', '-H', 'X-Run: exec://rm'], /refused the plan: runs a program/],
    ];
    for (const [args, re] of cases) {
      const run = await runCli([...args, ...coord(prefix)], { timeoutMs: 30_000 });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(re);
    }
    // The workers logged the refusal too, and are still free afterwards.
    await workers[0]?.waitFor(/refused: /, 'stderr');
    const ok = await runCli(['http', 'get', url, '-n', '30', ...coord(prefix)], { timeoutMs: 60_000 });
    expect(ok.code, ok.stderr).toBe(0);
  }, 120_000);

  it('a worker killed with SIGKILL mid-run: partial summary naming it, exit 3', async () => {
    const prefix = await pool();
    const coordinator = startCli([
      'http',
      'get',
      url,
      '--duration',
      '6s',
      '-c',
      '3',
      ...coord(prefix),
      '--json',
    ]);
    // Kill w2 once it is running its share (it logs the plan when it accepts it).
    await workers[1]?.waitFor(/run [0-9a-f]+: http get/, 'stderr', 30_000);
    await new Promise((r) => setTimeout(r, 2500));
    workers[1]?.kill('SIGKILL');
    const { code } = await coordinator.exited;
    const s = lastJson(coordinator.stdout());
    expect(code, coordinator.stderr()).toBe(3);
    expect(s.partial).toBe(true);
    expect(s.lost).toEqual(['w2']);
    expect(s.workers.find((w) => w.name === 'w2')?.lost).toBe(true);
    expect(s.requests).toBe(s.workers.filter((w) => !w.lost).reduce((a, w) => a + w.requests, 0));
    expect(coordinator.stderr()).toMatch(/partial result: lost worker\(s\) w2 mid-run/);
  }, 90_000);

  it('Ctrl-C on the coordinator stops every worker and prints the merged summary (exit 130)', async () => {
    const prefix = await pool();
    const coordinator = startCli(['http', 'get', url, '--duration', '60s', '-c', '3', ...coord(prefix)]);
    await Promise.all(workers.map((w) => w.waitFor(/run [0-9a-f]+: http get/, 'stderr', 30_000)));
    await new Promise((r) => setTimeout(r, 2500));
    coordinator.kill('SIGINT');
    const { code } = await coordinator.exited;
    expect(code, coordinator.stderr()).toBe(130);
    expect(coordinator.stderr()).toMatch(/\d+ calls in/);
    expect(coordinator.stderr()).toMatch(/workers\n\s+w1/);
    // Every worker's share stopped well before its 60 s (and reported done).
    await Promise.all(workers.map((w) => w.waitFor(/run [0-9a-f]+: done/, 'stderr', 15_000)));
  }, 90_000);
});
