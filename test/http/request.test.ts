import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { lastJson } from '../kit/ndjson.js';
import { serveHttp } from '../kit/serve.js';
import { killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

let served: Awaited<ReturnType<typeof serveHttp>>;
let base: string;
let tmp: string;

beforeAll(async () => {
  // `comms-cli serve http` itself is the peer for most cases: the URL comes first on stdout.
  served = await serveHttp();
  base = served.url;
  tmp = mkdtempSync(join(tmpdir(), 'comms-http-test-'));
});

afterAll(async () => {
  expect(await served.stop()).toBe(130); // Ctrl-C stops the server cleanly, with the contract's code
  killSurvivors();
  rmSync(tmp, { recursive: true, force: true });
});

describe('http: success and output streams', () => {
  it('prints the raw body on stdout and a status line with timing on stderr (exit 0)', async () => {
    const r = await runCli(['http', 'get', `${base}/json`]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'sample', items: [{ id: 42 }, { id: 43 }] });
    expect(r.stderr).toMatch(/HTTP\/1\.1 200 OK · [\d.]+m?s/);
  });

  it('--json gives one result object with the contract fields, and measured timing', async () => {
    const r = await runCli(['http', 'get', `${base}/echo?x=1`, '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const res = lastJson(r.stdout);
    expect(res).toMatchObject({ transport: 'http', operation: 'GET', ok: true, exit: 0, status: 200 });
    expect(res.target).toBe(`${base}/echo?x=1`);
    expect(res.attempts).toEqual([expect.objectContaining({ n: 1, ok: true, status: 200 })]);
    const timing = res.timing as Record<string, number>;
    expect(timing.connect).toBeGreaterThanOrEqual(0); // a new socket: connect phase measured
    expect(timing.firstByte).toBeGreaterThan(0);
    expect(timing.total).toBeGreaterThanOrEqual(timing.firstByte ?? 0);
    expect((res.body as { query: unknown }).query).toEqual({ x: '1' });
    expect(r.stderr).toBe('');
  });

  it('-v shows request and response headers and the timing breakdown on stderr, stdout stays data', async () => {
    const r = await runCli(['http', 'get', `${base}/json`, '-v']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('> GET');
    expect(r.stderr).toMatch(/< content-type: application\/json/);
    expect(r.stderr).toMatch(/timing: connect [\d.]+/);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });

  it('-q prints nothing but the data', async () => {
    const r = await runCli(['http', 'get', `${base}/json`, '-q']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });

  it('sends -H headers, --query, and -d from @file and @- (stdin)', async () => {
    const file = join(tmp, 'body.txt');
    writeFileSync(file, 'from-a-file');
    const a = await runCli([
      'http',
      'post',
      `${base}/echo`,
      '-H',
      'X-Test: yes',
      '--query',
      'q=1',
      '-d',
      `@${file}`,
      '--json',
    ]);
    expect(a.code).toBe(0);
    const echoed = lastJson(a.stdout).body as {
      headers: Record<string, string>;
      query: unknown;
      body: string;
      method: string;
    };
    expect(echoed).toMatchObject({ method: 'POST', query: { q: '1' }, body: 'from-a-file' });
    expect(echoed.headers['x-test']).toBe('yes');
    const b = await runCli(['http', 'put', `${base}/echo`, '-d', '@-', '--json'], { input: 'from-stdin' });
    expect((lastJson(b.stdout).body as { body: string }).body).toBe('from-stdin');
  });

  it('--json-data validates JSON and sets the content type', async () => {
    const r = await runCli(['http', 'post', `${base}/echo`, '--json-data', '{"a":1}', '--json']);
    const echoed = lastJson(r.stdout).body as { headers: Record<string, string>; body: string };
    expect(echoed.headers['content-type']).toBe('application/json');
    expect(JSON.parse(echoed.body)).toEqual({ a: 1 });
  });

  it('decodes gzip bodies', async () => {
    const r = await runCli(['http', 'get', `${base}/gzip`]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ compressed: true, items: [1, 2, 3] });
  });

  it('-L follows redirects (bounded); a loop beyond --max-redirs exits 1', async () => {
    const ok = await runCli(['http', 'get', `${base}/redirect/3`, '-L', '--json']);
    expect(ok.code).toBe(0);
    expect(lastJson(ok.stdout)).toMatchObject({ status: 200, redirects: 3 });
    const loop = await runCli(['http', 'get', `${base}/redirect/5`, '-L', '--max-redirs', '2']);
    expect(loop.code).toBe(1);
    expect(loop.stderr).toMatch(/too many redirects: more than 2/);
    const noFollow = await runCli(['http', 'get', `${base}/redirect/1`, '--json']);
    expect(lastJson(noFollow.stdout).status).toBe(302);
    expect(noFollow.code).toBe(0);
  });

  it('a literal % in the query is sent as typed', async () => {
    const r = await runCli(['http', 'get', `${base}/echo?q=100%`, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).body.path).toBe('/echo');
  });
});

describe('http: -o writes a file only when the call succeeds', () => {
  it('streams the body to the file', async () => {
    const out = join(tmp, 'big.bin');
    const r = await runCli(['http', 'get', `${base}/bytes/3000000`, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(readFileSync(out).length).toBe(3_000_000);
  });

  it('leaves no file, and no temp file, when the connection drops mid-body', async () => {
    const dir = mkdtempSync(join(tmp, 'drop-'));
    const out = join(dir, 'partial.txt');
    const r = await runCli(['http', 'get', `${base}/drop`, '-o', out]);
    expect(r.code).toBe(3);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves no file when the status fails', async () => {
    const out = join(tmp, 'status.json');
    const r = await runCli(['http', 'get', `${base}/status/500`, '-o', out]);
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });

  it('-o with retries keeps only the final body, and leaves no temp files', async () => {
    const out = join(tmp, 'retried.json');
    const r = await runCli([
      'http',
      'get',
      `${base}/flaky/2?key=o-${Date.now()}&retry_after=0`,
      '--retries',
      '3',
      '--backoff',
      '1ms',
      '-o',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ ok: true, call: 3 });
    expect(readdirSync(tmp).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('-o into a missing directory is a usage error and nothing is sent', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls += 1;
      res.end('x');
    });
    const port = await listen(server);
    try {
      const r = await runCli([
        'http',
        'get',
        `http://127.0.0.1:${port}/`,
        '-o',
        join(tmp, 'no', 'such', 'dir.json'),
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/cannot write -o file .*: no such directory/);
      expect(calls).toBe(0);
      const b = await runCli([
        'http',
        'get',
        `http://127.0.0.1:${port}/`,
        '--breaker',
        '1',
        '--breaker-state',
        join(tmp, 'nope', 's.json'),
      ]);
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(/cannot use --breaker-state file/);
      const c = await runCli([
        'http',
        'get',
        `http://127.0.0.1:${port}/`,
        '--breaker-state',
        join(tmp, 's.json'),
      ]);
      expect(c.code).toBe(2);
      expect(c.stderr).toMatch(/--breaker-state needs --breaker/);
      expect(calls).toBe(0);
    } finally {
      server.close();
    }
  });
});

describe('http: expectations (exit 1 when missed, 0 when held)', () => {
  it('without --expect-status a status >= 400 exits 1', async () => {
    const r = await runCli(['http', 'get', `${base}/status/404`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: HTTP 404 Not Found/);
  });

  it.each([
    ['404', 404, 0],
    ['2xx', 204, 0],
    ['200,204', 204, 0],
    ['200-299', 201, 0],
    ['2xx', 500, 1],
  ])('--expect-status %s against %i exits %i', async (spec, status, code) => {
    const r = await runCli(['http', 'get', `${base}/status/${status}`, '--expect-status', spec]);
    expect(r.code).toBe(code);
    if (code === 1) expect(r.stderr).toContain(`expected status ${spec}, got ${status}`);
  });

  it('--expect-body, --expect-header and --expect-json hold or fail with the values named', async () => {
    const ok = await runCli([
      'http',
      'get',
      `${base}/json`,
      '--expect-body',
      'sample',
      '--expect-body',
      '/"sku":"B\\d"/',
      '--expect-header',
      'Content-Type: /json/',
      '--expect-json',
      '$.items[0].id=42',
      '--expect-json',
      'items[1].sku=B2',
    ]);
    expect(ok.code).toBe(0);
    const body = await runCli(['http', 'get', `${base}/json`, '--expect-body', 'nope', '--json']);
    expect(body.code).toBe(1);
    expect(lastJson(body.stdout)).toMatchObject({ ok: false, exit: 1, error: { kind: 'expectation' } });
    const jsonPath = await runCli(['http', 'get', `${base}/json`, '--expect-json', '$.items[0].id=7']);
    expect(jsonPath.code).toBe(1);
    expect(jsonPath.stderr).toContain('expected $.items[0].id = 7, got 42');
    const header = await runCli(['http', 'get', `${base}/json`, '--expect-header', 'X-Missing: 1']);
    expect(header.code).toBe(1);
    expect(header.stderr).toContain('expected header X-Missing');
  });

  it('--expect-time fails a slow call', async () => {
    const r = await runCli(['http', 'get', `${base}/delay/300ms`, '--expect-time', '100ms']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/expected time <= 100ms, took/);
  });

  it('--expect-json compares objects whatever their key order', async () => {
    const r = await runCli([
      'http',
      'get',
      `${base}/json`,
      '--expect-json',
      '$.items[0]={"sku":"A1","id":42}',
    ]);
    expect(r.code).toBe(0);
  });
});

describe('http: bad input exits 2 and sends nothing', () => {
  it.each([
    [['http', 'get', 'not a url'], /invalid URL 'not a url'/],
    [['http', 'get', 'ftp://127.0.0.1/x'], /unsupported URL scheme 'ftp:'/],
    [['http', 'fe(t)ch', 'http://127.0.0.1:1/'], /invalid HTTP method 'fe\(t\)ch'/],
    [
      ['http', 'post', 'http://127.0.0.1:1/', '-d', '@/nonexistent/file.json'],
      /cannot read --data file '\/nonexistent\/file.json': no such file/,
    ],
    [['http', 'get', 'http://127.0.0.1:1/', '-H', 'no colon here'], /malformed header -H 'no colon here'/],
    [['http', 'get', 'http://127.0.0.1:1/', '--expect-status', '2yy'], /invalid --expect-status '2yy'/],
    [
      ['http', 'get', 'http://127.0.0.1:1/', '--expect-json', '$.a['],
      /invalid --expect-json|invalid JSON path/,
    ],
    [['http', 'get', 'http://127.0.0.1:1/', '--expect-body', '/[/'], /invalid regular expression/],
    [['http', 'get', 'http://127.0.0.1:1/', '--timeout', 'soon'], /invalid --timeout 'soon'/],
    [['http', 'get', 'http://127.0.0.1:1/', '--retries', '-1'], /invalid --retries|unknown option/],
    [['http', 'post', 'http://127.0.0.1:1/', '--json-data', '{bad json'], /invalid JSON in --json-data/],
    [['http', 'get', 'http://127.0.0.1:1/', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['http', 'get'], /missing required argument 'url'/],
  ])('%j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
  });

  it('with --json, a usage error still prints one JSON object on stdout', async () => {
    const r = await runCli(['http', 'get', 'not a url', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exit: 2, error: { kind: 'usage' } });
  });
});

describe('http: unreachable, timeouts, interrupt', () => {
  it('connection refused exits 3 with a one-line error and a hint', async () => {
    const r = await runCli(['http', 'get', 'http://127.0.0.1:9/']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error: connection refused \(http:\/\/127\.0\.0\.1:9\/\)/);
    expect(r.stderr).toMatch(/hint:/);
  });

  it('a connection reset before any response exits 3, and a DNS failure exits 3', async () => {
    const dns = await runCli(['http', 'get', 'http://no-such-host.invalid/']);
    expect(dns.code).toBe(3);
    expect(dns.stderr).toMatch(/could not resolve host/);
  });

  it('--timeout per attempt exits 4; --max-time across retries exits 4', async () => {
    const t = await runCli(['http', 'get', `${base}/delay/3s`, '--timeout', '200ms', '--json']);
    expect(t.code).toBe(4);
    expect(lastJson(t.stdout)).toMatchObject({ ok: false, exit: 4, error: { kind: 'timeout' } });
    const m = await runCli([
      'http',
      'get',
      `${base}/delay/3s`,
      '--timeout',
      '300ms',
      '--retries',
      '5',
      '--backoff',
      '10ms',
      '--max-time',
      '1500ms',
      '--json',
    ]);
    expect(m.code).toBe(4);
    const attempts = lastJson(m.stdout).attempts as unknown[];
    // 300 ms attempts in a 1.5 s budget: at least a retry even if the machine stalls the CLI for a
    // second, and never all six (each attempt takes its full 300 ms against the 3 s delay).
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(attempts.length).toBeLessThan(6);
  });

  it('Ctrl-C aborts the in-flight request and exits 130', async () => {
    let arrived: () => void = () => {};
    const seen = new Promise<void>((resolve) => (arrived = resolve));
    const server = createServer(() => arrived()); // never answers
    const port = await listen(server);
    try {
      const p = startCli(['http', 'get', `http://127.0.0.1:${port}/`]);
      await seen; // the request is in flight: the CLI is past start-up and its handler is installed
      p.kill('SIGINT');
      const { code } = await p.exited;
      expect(code).toBe(130);
      expect(p.stderr()).toMatch(/interrupted/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('http: secrets are redacted', () => {
  it('Authorization, cookies and URL tokens never reach -v or --json output', async () => {
    const r = await runCli([
      'http',
      'get',
      `${base}/echo?token=s3cr3t-q&x=1`,
      '-H',
      'Authorization: Bearer s3cr3t-bearer',
      '-H',
      'Cookie: session=s3cr3t-cookie',
      '-v',
      '--json',
    ]);
    expect(r.code).toBe(0);
    // The echo body is data the user asked for; everything else is checked.
    const res = lastJson(r.stdout);
    delete res.body;
    const visible = JSON.stringify(res) + r.stderr;
    expect(visible).not.toMatch(/s3cr3t/);
    expect(r.stderr).toContain('Authorization: [REDACTED]');
    const shown = await runCli([
      'http',
      'get',
      `${base}/json`,
      '-H',
      'Authorization: Bearer visible-token',
      '-v',
      '--show-secrets',
    ]);
    expect(shown.stderr).toContain('Bearer visible-token');
  });

  it('a token in the URL never appears in error messages, attempts or -v lines', async () => {
    const r = await runCli([
      'http',
      'get',
      'http://127.0.0.1:9/x?token=SECRET1',
      '--retries',
      '1',
      '--backoff',
      '1ms',
      '--breaker',
      '5',
      '-v',
      '--json',
    ]);
    expect(r.code).toBe(3);
    expect(r.stdout + r.stderr).not.toContain('SECRET1');
    expect(JSON.parse(r.stdout).error.message).toContain('token=[REDACTED]');
  });
});
