import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

/** One NDJSON result from stdout. */
function json(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, unknown>;
}

let serve: CliProcess;
let base: string;
let tmp: string;

beforeAll(async () => {
  // `comms-cli serve http` itself is the peer for most cases: the URL comes first on stdout.
  serve = startCli(['serve', 'http', '--port', '0']);
  base = (await serve.waitFor(/^(http:\/\/\S+)\n/))[1] ?? '';
  tmp = mkdtempSync(join(tmpdir(), 'comms-http-test-'));
});

afterAll(async () => {
  serve.kill('SIGINT');
  const { code } = await serve.exited;
  expect(code).toBe(130); // Ctrl-C stops the server cleanly, with the contract's code
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
    const res = json(r.stdout);
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
    const echoed = json(a.stdout).body as {
      headers: Record<string, string>;
      query: unknown;
      body: string;
      method: string;
    };
    expect(echoed).toMatchObject({ method: 'POST', query: { q: '1' }, body: 'from-a-file' });
    expect(echoed.headers['x-test']).toBe('yes');
    const b = await runCli(['http', 'put', `${base}/echo`, '-d', '@-', '--json'], { input: 'from-stdin' });
    expect((json(b.stdout).body as { body: string }).body).toBe('from-stdin');
  });

  it('--json-data validates JSON and sets the content type', async () => {
    const r = await runCli(['http', 'post', `${base}/echo`, '--json-data', '{"a":1}', '--json']);
    const echoed = json(r.stdout).body as { headers: Record<string, string>; body: string };
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
    expect(json(ok.stdout)).toMatchObject({ status: 200, redirects: 3 });
    const loop = await runCli(['http', 'get', `${base}/redirect/5`, '-L', '--max-redirs', '2']);
    expect(loop.code).toBe(1);
    expect(loop.stderr).toMatch(/too many redirects: more than 2/);
    const noFollow = await runCli(['http', 'get', `${base}/redirect/1`, '--json']);
    expect(json(noFollow.stdout).status).toBe(302);
    expect(noFollow.code).toBe(0);
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
    expect(json(body.stdout)).toMatchObject({ ok: false, exit: 1, error: { kind: 'expectation' } });
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
});

describe('http: bad input exits 2 and sends nothing', () => {
  it.each([
    [['http', 'get', 'not a url'], /invalid URL 'not a url'/],
    [['http', 'get', 'ftp://127.0.0.1/x'], /unsupported URL scheme 'ftp:'/],
    [['http', 'fetch', 'http://127.0.0.1:1/'], /unknown HTTP method 'fetch'/],
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
    expect(json(t.stdout)).toMatchObject({ ok: false, exit: 4, error: { kind: 'timeout' } });
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
      '700ms',
      '--json',
    ]);
    expect(m.code).toBe(4);
    const attempts = json(m.stdout).attempts as unknown[];
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
    const attempts = json(r.stdout).attempts as Array<{
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
      if (calls === 1) res.writeHead(503, { 'retry-after': new Date(Date.now() + 3000).toUTCString() }).end();
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
      const [first] = json(r.stdout).attempts as Array<{ waitMs: number }>;
      // The date is 2-3 s ahead (second precision): the wait follows it, capped at 1500ms.
      expect(first?.waitMs).toBeGreaterThanOrEqual(1000);
      expect(first?.waitMs).toBeLessThanOrEqual(1500);
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
      expect(json(open.stdout)).toMatchObject({ ok: false, exit: 5, error: { kind: 'breaker' } });
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
});

describe('http: TLS and HTTP/2', () => {
  let certs: TestCerts;
  let httpsPort: number;
  let selfPort: number;
  let mtlsPort: number;
  const servers: Array<{ close(): void }> = [];

  beforeAll(async () => {
    certs = makeCerts();
    const handler = (_req: IncomingMessage, res: ServerResponse) => res.end('secure');
    const https = createHttpsServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
      handler,
    );
    const self = createHttpsServer(
      { cert: certs.read(certs.selfSignedCert), key: certs.read(certs.selfSignedKey) },
      handler,
    );
    const mtls = createHttpsServer(
      {
        cert: certs.read(certs.serverCert),
        key: certs.read(certs.serverKey),
        ca: certs.read(certs.caCert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      handler,
    );
    httpsPort = await listen(https);
    selfPort = await listen(self);
    mtlsPort = await listen(mtls);
    servers.push(https, self, mtls);
  });
  afterAll(() => {
    for (const s of servers) s.close();
    rmSync(certs.dir, { recursive: true, force: true });
  });

  it('a self-signed server fails with exit 3 and a -k/--cacert hint; -k accepts it', async () => {
    const r = await runCli(['http', 'get', `https://127.0.0.1:${selfPort}/`]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/TLS handshake failed/);
    expect(r.stderr).toMatch(/hint: .*--cacert.*-k/);
    const k = await runCli(['http', 'get', `https://127.0.0.1:${selfPort}/`, '-k']);
    expect(k.code).toBe(0);
    expect(k.stdout).toBe('secure');
  });

  it('--cacert trusts a private CA, and TLS timing is measured', async () => {
    const r = await runCli([
      'http',
      'get',
      `https://localhost:${httpsPort}/`,
      '--cacert',
      certs.caCert,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect((json(r.stdout).timing as Record<string, number>).tls).toBeGreaterThan(0);
  });

  it('mutual TLS: --cert/--key succeed, without them the handshake is rejected (exit 3)', async () => {
    const ok = await runCli([
      'http',
      'get',
      `https://localhost:${mtlsPort}/`,
      '--cacert',
      certs.caCert,
      '--cert',
      certs.clientCert,
      '--key',
      certs.clientKey,
    ]);
    expect(ok.code).toBe(0);
    const no = await runCli(['http', 'get', `https://localhost:${mtlsPort}/`, '--cacert', certs.caCert]);
    expect(no.code).toBe(3);
  });

  it('--http2 negotiates HTTP/2 with a node:http2 server', async () => {
    const h2 = createSecureServer(
      { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
      (req, res) => {
        res.end(`h2 ${req.httpVersion}`);
      },
    );
    const port = await listen(h2);
    try {
      const r = await runCli([
        'http',
        'get',
        `https://localhost:${port}/`,
        '--http2',
        '--cacert',
        certs.caCert,
        '--json',
      ]);
      expect(r.code).toBe(0);
      expect(json(r.stdout)).toMatchObject({ httpVersion: 'HTTP/2', body: 'h2 2.0' });
    } finally {
      h2.close();
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
    const res = json(r.stdout);
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
});

describe('the package', () => {
  it('--version, --help and every subcommand help show usage with examples', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version,
    );
    for (const args of [[], ['http'], ['serve'], ['serve', 'http'], ['demo']]) {
      const h = await runCli([...args, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/Usage: comms-cli/);
      expect(h.stdout).toMatch(/Examples:\n(\s+\$ comms-cli .+\n){2,}/);
    }
  });

  it('an unknown command is a usage error (exit 2)', async () => {
    const r = await runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('`comms-cli http` never loads gRPC or NATS code', async () => {
    const trace = join(tmp, 'loads.txt');
    writeFileSync(trace, '');
    const r = await runCli(['http', 'get', `${base}/json`], {
      env: {
        NODE_OPTIONS: `--import=${new URL('../fixtures/trace-loads.mjs', import.meta.url).href}`,
        COMMS_TRACE_FILE: trace,
      },
    });
    expect(r.code).toBe(0);
    const loaded = readFileSync(trace, 'utf8');
    expect(loaded).toMatch(/dist\/bundle\/main\.js/); // the trace works
    // Option tables of other commands may load (they are plain data); their libraries must not.
    expect(loaded).not.toMatch(/@grpc|grpc-js|proto-loader|protobufjs|@nats-io|nkeys/);
  });
});
