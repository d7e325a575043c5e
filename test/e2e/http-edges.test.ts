import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliProcess, killSurvivors, runCli, startCli } from '../helpers/spawn-cli.js';

async function listen(server: ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return (server.address() as AddressInfo).port;
}

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
