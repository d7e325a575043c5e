import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { CLI, type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

afterAll(() => killSurvivors());

describe('http: edge cases against node:http peers', () => {
  it('a body that trickles slower than --timeout times out (exit 4): the timeout covers the body', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 100);
      res.on('close', () => clearInterval(timer));
    });
    const port = await listen(server);
    try {
      const r = await runCli(['http', 'get', `http://127.0.0.1:${port}/`, '--timeout', '600ms']);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/timed out after 600ms \(--timeout\)/);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('a reset before any response is retried and then reported as unreachable (exit 3)', async () => {
    let calls = 0;
    const server = createServer((req) => {
      calls += 1;
      req.socket.destroy();
    });
    const port = await listen(server);
    try {
      const r = await runCli([
        'http',
        'get',
        `http://127.0.0.1:${port}/`,
        '--retries',
        '2',
        '--backoff',
        '5ms',
        '--json',
      ]);
      expect(r.code).toBe(3);
      expect(calls).toBe(3);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exit: 3, error: { kind: 'connect' } });
    } finally {
      server.close();
    }
  });
});

describe('http: proxies from the environment', () => {
  let proxyPort: number;
  let targetPort: number;
  const tunnels: string[] = [];
  const sockets = new Set<Socket>();
  const proxy = createServer();
  const target = createServer((_req, res) => res.end('via target'));

  beforeAll(async () => {
    // A CONNECT proxy, as undici's ProxyAgent tunnels through one.
    proxy.on('connect', (req: IncomingMessage, client: Socket) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
      }
    });
    proxyPort = await listen(proxy);
    targetPort = await listen(target);
  });
  afterAll(() => {
    for (const s of sockets) s.destroy();
    proxy.close();
    target.closeAllConnections();
    target.close();
  });

  it('HTTP_PROXY routes the request through the proxy; NO_PROXY bypasses it', async () => {
    const url = `http://127.0.0.1:${targetPort}/`;
    const via = await runCli(['http', 'get', url], { env: { HTTP_PROXY: `http://127.0.0.1:${proxyPort}` } });
    expect(via.code).toBe(0);
    expect(via.stdout).toBe('via target');
    expect(tunnels).toEqual([`127.0.0.1:${targetPort}`]);
    const direct = await runCli(['http', 'get', url], {
      env: { HTTP_PROXY: `http://127.0.0.1:${proxyPort}`, NO_PROXY: '127.0.0.1' },
    });
    expect(direct.code).toBe(0);
    expect(tunnels).toHaveLength(1);
  });
});

describe('serve http: global fault flags', () => {
  let server: CliProcess;
  let url: string;
  beforeAll(async () => {
    server = startCli(['serve', 'http', '--fail-rate', '1', '--fail-status', '502', '--delay', '50ms']);
    url = (await server.waitFor(/^(http:\/\/\S+)\n/))[1] ?? '';
  });
  afterAll(async () => {
    server.kill('SIGINT');
    await server.exited;
  });

  it('--fail-rate 1 answers every request with --fail-status after --delay, and logs it on stderr', async () => {
    const r = await runCli(['http', 'get', `${url}/json`, '--json']);
    expect(r.code).toBe(1);
    const res = JSON.parse(r.stdout) as { status: number; timing: { total: number } };
    expect(res.status).toBe(502);
    expect(res.timing.total).toBeGreaterThanOrEqual(50); // the injected delay is a floor, not a timing assertion
    await server.waitFor(/GET \/json 502/, 'stderr');
  });

  it('rejects bad fault flags with exit 2', async () => {
    const r = await runCli(['serve', 'http', '--fail-rate', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid --fail-rate '2'/);
    const p = await runCli(['serve', 'http', '--port', 'eighty']);
    expect(p.code).toBe(2);
  });
});

describe('http: review findings stay fixed', () => {
  let serve: CliProcess;
  let base: string;
  const dir = mkdtempSync(join(tmpdir(), 'comms-http-edges-'));
  beforeAll(async () => {
    serve = startCli(['serve', 'http']);
    base = (await serve.waitFor(/^(http:\/\/\S+)\n/))[1] ?? '';
  });
  afterAll(async () => {
    serve.kill('SIGINT');
    await serve.exited;
    rmSync(dir, { recursive: true, force: true });
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

  it('-o with retries keeps only the final body, and leaves no temp files', async () => {
    const out = join(dir, 'retried.json');
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
    expect(readdirSync(dir).filter((f) => f.endsWith('.part'))).toEqual([]);
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
        join(dir, 'no', 'such', 'dir.json'),
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
        join(dir, 'nope', 's.json'),
      ]);
      expect(b.code).toBe(2);
      expect(b.stderr).toMatch(/cannot use --breaker-state file/);
      const c = await runCli([
        'http',
        'get',
        `http://127.0.0.1:${port}/`,
        '--breaker-state',
        join(dir, 's.json'),
      ]);
      expect(c.code).toBe(2);
      expect(c.stderr).toMatch(/--breaker-state needs --breaker/);
      expect(calls).toBe(0);
    } finally {
      server.close();
    }
  });

  it('a literal % in the query is sent as typed', async () => {
    const r = await runCli(['http', 'get', `${base}/echo?q=100%`, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).body.path).toBe('/echo');
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
    const state = join(dir, 'parallel.json');
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

  it('with --json, a usage error still prints one JSON object on stdout', async () => {
    const r = await runCli(['http', 'get', 'not a url', '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exit: 2, error: { kind: 'usage' } });
  });
});

describe('a reader that goes away', () => {
  it('`comms-cli ... | head -c 10` stops quietly with exit 0', async () => {
    const server = createServer((_req, res) => res.end(Buffer.alloc(5_000_000, 'x')));
    const port = await listen(server);
    try {
      const script = `node "${CLI}" http get http://127.0.0.1:${port}/ | head -c 10; echo " status=\${PIPESTATUS[0]}"`;
      const r = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        execFile('bash', ['-c', script], { env: { ...process.env, NO_COLOR: '1' } }, (_err, stdout, stderr) =>
          resolve({ stdout, stderr }),
        );
      });
      expect(r.stdout).toBe('xxxxxxxxxx status=0\n');
      expect(r.stderr).not.toMatch(/error|EPIPE|at /);
    } finally {
      server.close();
    }
  });
});
