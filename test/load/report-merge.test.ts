import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

/** `--json` load summaries carry the histogram, times and series; `report merge` adds runs exactly. */
describe('load --json summaries and report merge', () => {
  let server: Server;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'comms-merge-'));

  beforeAll(async () => {
    server = createServer((_req, res) => setTimeout(() => res.end('ok'), 5));
    url = `http://127.0.0.1:${await listen(server)}/`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('a --json summary has the encoded histogram, ISO start/end and per-second series', async () => {
    const run = await runCli(['http', 'get', url, '-n', '60', '-c', '4', '--json']);
    expect(run.code).toBe(0);
    const s = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(s.type).toBe('summary');
    expect(typeof s.histogram.hdr).toBe('string');
    expect(s.histogram.count).toBe(60);
    expect(new Date(s.startedAt).toISOString()).toBe(s.startedAt);
    expect(Date.parse(s.endedAt)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
    expect(s.series.length).toBeGreaterThanOrEqual(1);
    expect(s.series.reduce((a: number, p: { requests: number }) => a + p.requests, 0)).toBe(60);
    expect(Object.keys(s.series[0])).toEqual(
      expect.arrayContaining(['ts', 'ms', 'requests', 'errors', 'rps', 'p50', 'p99', 'latency']),
    );
  });

  it('report merge sums two runs, prints a human summary, and --json one exact summary', async () => {
    const a = await runCli(['http', 'get', url, '-n', '40', '-c', '2', '--json']);
    const b = await runCli(['http', 'get', url, '-n', '25', '-c', '2', '--json']);
    writeFileSync(join(dir, 'a.json'), a.stdout);
    writeFileSync(join(dir, 'b.json'), b.stdout);
    const human = await runCli(['report', 'merge', join(dir, 'a.json'), join(dir, 'b.json')]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/65 calls/);
    expect(human.stderr).toMatch(/workers[\s\S]*a\s+40 calls[\s\S]*b\s+25 calls/);
    const json = await runCli(['report', 'merge', join(dir, 'a.json'), join(dir, 'b.json'), '--json']);
    const m = JSON.parse(json.stdout);
    expect(m.requests).toBe(65);
    expect(m.histogram.count).toBe(65);
    expect(m.latency.p50).toBeGreaterThanOrEqual(4);
    expect(m.workers.map((w: { name: string }) => w.name)).toEqual(['a', 'b']);
  });

  it('a file without a summary is a usage error (exit 2)', async () => {
    writeFileSync(join(dir, 'empty.json'), '{"type":"call"}\n');
    const run = await runCli(['report', 'merge', join(dir, 'empty.json')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/holds no load summary/);
  });
});
