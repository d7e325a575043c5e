import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const seenLastEventIds: Array<string | undefined> = [];

/** A node:http peer for what `serve http` does not do: malformed lines, auth checks, a 503. */
function startRawServer(): Server {
  return createServer((req, res) => {
    if (req.url === '/malformed') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end('retry: soon\nbogus-field: x\ndata: one\n\n: a comment\ndata: two\nid: 2\n\n');
      return;
    }
    if (req.url === '/auth') {
      seenLastEventIds.push(req.headers['last-event-id'] as string | undefined);
      if (req.headers.authorization !== `Basic ${Buffer.from('ann:pw').toString('base64')}`) {
        res.writeHead(401).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
      res.end(`data: hello ${req.headers['x-test'] ?? ''}\n\n`);
      return;
    }
    if (req.url === '/slow-headers') {
      // The answer (headers and the one event) leaves 300ms after the request arrived.
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: late\n\n');
      }, SLOW_MS);
      return;
    }
    if (req.url === '/flaky') {
      flakyRequests += 1;
      if (flakyRequests > 1) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: second time\n\n');
        return;
      }
    }
    res.writeHead(503, { 'retry-after': '0' }).end();
  });
}
const SLOW_MS = 300;
let flakyRequests = 0;

beforeAll(async () => {
  serve = startCli(['serve', 'http', '--port', '0']);
  base = (await serve.waitFor(/^(http:\/\/\S+)\n/))[1] ?? '';
  raw = startRawServer();
  rawBase = `http://127.0.0.1:${await listen(raw)}`;
});

afterAll(async () => {
  serve.kill('SIGINT');
  await serve.exited;
  killSurvivors();
  raw.close();
});

describe('sse: events', () => {
  it('prints each event as it arrives; the stream ending is exit 0', async () => {
    const r = await runCli(['sse', `${base}/sse?count=3&every=10ms`]);
    expect(r.code).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { n: number }).n),
    ).toEqual([1, 2, 3]);
    expect(r.stderr).toMatch(/stream ended · 3 events · first event [\d.]+m?s/);
  });

  it('--json: message objects with event, id, data, retry; a result with firstEvent timing', async () => {
    const r = await runCli([
      'sse',
      `${base}/sse?count=5&every=10ms&retry=250&event=tick`,
      '--count',
      '2',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const [m1, m2, result] = ndjson(r.stdout);
    expect(m1).toMatchObject({
      type: 'message',
      transport: 'sse',
      n: 1,
      event: 'tick',
      id: '1',
      encoding: 'json',
      retry: 250,
    });
    expect((m1.data as { n: number }).n).toBe(1);
    expect(m2).toMatchObject({ n: 2, id: '2' });
    expect(result).toMatchObject({
      type: 'result',
      transport: 'sse',
      ok: true,
      exit: 0,
      status: 200,
      events: 2,
      lastEventId: '2',
    });
    const timing = result?.timing as Record<string, number>;
    expect(timing.firstByte).toBeGreaterThan(0);
    expect(timing.firstEvent).toBeGreaterThanOrEqual(timing.firstByte ?? 0);
  });

  it('--event filters by type; --expect-event and --until match the data', async () => {
    const f = await runCli([
      'sse',
      `${base}/sse?count=2&every=10ms&event=tick`,
      '--event',
      'other',
      '--json',
    ]);
    expect(f.code).toBe(0);
    expect(ndjson(f.stdout)).toHaveLength(1); // only the result
    const e = await runCli(['sse', `${base}/sse?count=5&every=10ms`, '--expect-event', '$.n=3', '-q']);
    expect(e.code).toBe(0);
    expect(e.stdout.trim().split('\n')).toHaveLength(3); // stops once the expectation held
    const miss = await runCli(['sse', `${base}/sse?count=2&every=10ms`, '--expect-event', '$.n=9']);
    expect(miss.code).toBe(1);
    expect(miss.stderr).toMatch(/error: expected a message matching \$\.n=9, none of 2 did/);
    const u = await runCli(['sse', `${base}/sse?count=9&every=10ms`, '--until', '/"n":2/', '-q']);
    expect(u.code).toBe(0);
    expect(u.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('an idle --timeout before --count is reached is exit 4', async () => {
    const r = await runCli(['sse', `${base}/sse?count=5&every=5s`, '--count', '2', '--timeout', '300ms']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/idle for 300ms: 0 of 2 expected events/);
  });
});

describe('sse: timing', () => {
  /** The result's timing: every phase from the start of the attempt that got the stream, on one clock. */
  const sseTiming = (stdout: string): Record<string, number> => {
    const result = ndjson(stdout).at(-1) as { type: string; timing: Record<string, number> };
    expect(result.type).toBe('result');
    const t = result.timing;
    // A retry may reuse the kept-alive connection: then there is no connect phase.
    expect(t.connect ?? 0).toBeGreaterThanOrEqual(0);
    expect(t.firstByte).toBeGreaterThanOrEqual(t.connect ?? 0);
    expect(t.firstEvent).toBeGreaterThanOrEqual(t.firstByte as number);
    expect(t.total).toBeGreaterThanOrEqual(t.firstEvent as number);
    return t;
  };

  // Bounds from the attempt's start only: a difference of two client readings (firstEvent - firstByte)
  // shrinks when the client notices the headers late on a loaded machine (296.9 ms was seen).
  it('a first event 300ms after the headers: firstEvent >= 298, and <= total', async () => {
    const r = await runCli(['sse', `${base}/sse?count=1&every=300ms`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const t = sseTiming(r.stdout);
    expect(t.firstEvent).toBeGreaterThanOrEqual(298);
  });

  it('headers delayed by 300ms: firstByte >= 298, and <= total', async () => {
    const r = await runCli(['sse', `${rawBase}/slow-headers`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const t = sseTiming(r.stdout);
    expect(t.firstByte).toBeGreaterThanOrEqual(SLOW_MS - 2);
  });

  it('after a retried 503 the phases are those of the attempt that got the stream', async () => {
    const r = await runCli(['sse', `${rawBase}/flaky`, '--retries', '1', '--backoff', '10ms', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = ndjson(r.stdout).at(-1) as {
      attempts: { ok: boolean; ms: number; timing: Record<string, number> }[];
    };
    expect(result.attempts.map((a) => a.ok)).toEqual([false, true]);
    const t = sseTiming(r.stdout);
    const streamed = result.attempts[1]!;
    expect(t.firstByte).toBe(streamed.timing.firstByte);
    expect(t.total).toBeGreaterThanOrEqual(streamed.ms);
  });
});

describe('sse: reconnect as EventSource does', () => {
  it('a dropped stream without --reconnect is exit 1', async () => {
    const r = await runCli(['sse', `${base}/sse?count=6&every=10ms&drop=2`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the event stream broke off/);
  });

  it('--reconnect resumes after Last-Event-ID, honours retry:, stops on 204, counts reconnects', async () => {
    const r = await runCli([
      'sse',
      `${base}/sse?count=6&every=10ms&drop=2&retry=20`,
      '--reconnect',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const lines = ndjson(r.stdout);
    const ids = lines.filter((l) => l.type === 'message').map((l) => l.id);
    expect(ids).toEqual(['1', '2', '3', '4', '5', '6']); // no gap, no repeat
    expect(lines.at(-1)).toMatchObject({ ok: true, events: 6, lastEventId: '6', retry: 20, reconnects: 3 });
  });

  it('--last-event-id resumes from the start; headers and -u reach the server', async () => {
    const r = await runCli(['sse', `${base}/sse?count=4&every=10ms`, '--last-event-id', '2', '--json']);
    expect(r.code).toBe(0);
    expect(
      ndjson(r.stdout)
        .filter((l) => l.type === 'message')
        .map((l) => l.id),
    ).toEqual(['3', '4']);
    const a = await runCli([
      'sse',
      `${rawBase}/auth`,
      '-u',
      'ann:pw',
      '-H',
      'X-Test: yes',
      '--last-event-id',
      'abc',
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe('hello yes\n');
    expect(seenLastEventIds.at(-1)).toBe('abc');
    const denied = await runCli(['sse', `${rawBase}/auth`]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/HTTP 401/);
  });
});

describe('sse: bad streams and bad input', () => {
  it('malformed lines are warned about and skipped; the valid events still print', async () => {
    const r = await runCli(['sse', `${rawBase}/malformed`, '--json']);
    expect(r.code).toBe(0);
    const lines = ndjson(r.stdout);
    expect(lines.filter((l) => l.type === 'message').map((l) => l.data)).toEqual(['one', 'two']);
    expect(lines.at(-1)).toMatchObject({ warnings: 2 });
  });

  it('not an event stream (application/json) is exit 1; a 503 is retried', async () => {
    const r = await runCli(['sse', `${base}/json`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expected an event stream \(text\/event-stream\).*got application\/json/);
    const s = await runCli(['sse', `${rawBase}/503`, '--retries', '2', '--backoff', '10ms', '--json']);
    expect(s.code).toBe(1);
    expect((ndjson(s.stdout)[0].attempts as unknown[]).length).toBe(3);
  });

  it('a refused connection is exit 3', async () => {
    const r = await runCli(['sse', 'http://127.0.0.1:1/sse']);
    expect(r.code).toBe(3);
  });

  it.each([
    [['sse', 'ws://127.0.0.1:1/'], /unsupported URL scheme 'ws:'/],
    [['sse', 'http://127.0.0.1:1/', '--expect-event', '/(/'], /invalid regular expression in --expect-event/],
    [['sse', 'http://127.0.0.1:1/', '--count', '0'], /invalid --count '0'/],
    [['sse', 'http://127.0.0.1:1/', '--cacert', '/no/such.pem'], /cannot read --cacert file/],
  ])('%j → exit 2', async (args, re) => {
    const r = await runCli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(re as RegExp);
  });
});
