import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

/*
 * --duration against an endpoint slower than the run: the summary says it waited for the calls in
 * flight, and --drain-timeout bounds that wait (aborted calls are counted as not completed).
 */
let server: Server;
let url: string;
let slowMs = 3000;
beforeAll(async () => {
  server = createServer((_req, res) => {
    const timer = setTimeout(() => res.end('slow'), slowMs);
    res.on('close', () => clearTimeout(timer));
  });
  url = `http://127.0.0.1:${await listen(server)}/`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

/** A 300 ms run of 2 calls that never complete: both abandoned at a 100 ms --drain-timeout. */
function abandonAll(extra: string[]) {
  slowMs = 15_000;
  return runCli(['http', 'get', url, '--duration', '300ms', '-c', '2', '--drain-timeout', '100ms', ...extra]);
}

describe('load mode: the drain after --duration', () => {
  it('waits for calls in flight and says so', async () => {
    const r = await runCli(['http', 'get', url, '--duration', '1s', '-c', '2']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /--duration 1(\.00)?s ended with 2 call\(s\) in flight; waited \d.*for them \(bound the wait with --drain-timeout <dur>\)/,
    );
  });

  it('--drain-timeout aborts them: not completed, not counted, and the run ends early', async () => {
    slowMs = 15_000;
    const started = Date.now();
    const r = await runCli([
      'http',
      'get',
      url,
      '--duration',
      '1s',
      '-c',
      '2',
      '--drain-timeout',
      '200ms',
      '--json',
    ]);
    const elapsed = Date.now() - started;
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(summary.drain).toMatchObject({ inFlight: 2, notCompleted: 2 });
    expect(summary.requests).toBe(0);
    // No call completed: a server that never answered is not a passing run (exit 4, as a timeout),
    // and there is no latency to report (null, not 0 ms).
    expect(r.code).toBe(4);
    expect(summary).toMatchObject({ transport: 'http', ok: false, exit: 4, error: { kind: 'timeout' } });
    expect(summary.error.message).toMatch(/no call completed: 2 still running when --drain-timeout ran out/);
    expect(Object.values(summary.latency)).toEqual(Array(8).fill(null));
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: no call completed: 2 still running/),
    ]);
    // 1 s of run + 0.2 s of drain + start-up: far from the 15 s the server would take.
    expect(elapsed).toBeLessThan(8000);
  });

  it('with a latency gate the exit is still 4; the gate says it could not hold, its actual is null', async () => {
    slowMs = 15_000;
    const r = await abandonAll(['--expect-p99', '50ms', '--json']);
    expect(r.code).toBe(4);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(summary.gates).toEqual([expect.objectContaining({ figure: 'p99', ok: false, actual: null })]);
    expect(r.stderr).toMatch(/p99: no calls completed, --expect-p99 .* cannot hold/);
    expect(r.stderr).toMatch(/error: no call completed: 2 still running/);
  });

  it('report merge of runs that completed nothing keeps exit 4 and adds up their drains', async () => {
    slowMs = 15_000;
    const dir = mkdtempSync(join(tmpdir(), 'comms-drain-merge-'));
    try {
      const files: string[] = [];
      for (const name of ['a.json', 'b.json']) {
        const r = await abandonAll(['--json']);
        expect(r.code).toBe(4);
        writeFileSync(join(dir, name), r.stdout);
        files.push(join(dir, name));
      }
      const merged = await runCli(['report', 'merge', ...files, '--json']);
      expect(merged.code).toBe(4);
      const summary = JSON.parse(merged.stdout.trim().split('\n').at(-1) ?? '{}');
      expect(summary).toMatchObject({ requests: 0, exit: 4, error: { kind: 'timeout' } });
      expect(summary.drain).toMatchObject({ inFlight: 4, notCompleted: 4 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the text summary says there is no latency, and names no --max-error-rate hint', async () => {
    slowMs = 15_000;
    const r = await abandonAll([]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/latency +none: no call completed/);
    expect(r.stderr).toMatch(/error: no call completed/);
    expect(r.stderr).not.toMatch(/max-error-rate/);
  });
});
