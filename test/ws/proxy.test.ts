import { readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { makeCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { type CliProcess, killSurvivors, runCli, startCli } from '../kit/spawn-cli.js';

describe('ws: proxies from the environment (HTTP CONNECT)', () => {
  let serve: CliProcess;
  let base: string;
  let proxyUrl: string;
  const tunnels: string[] = [];
  const auths: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const proxy = createServer();

  beforeAll(async () => {
    // A CONNECT proxy on loopback; `/deny` style refusals come from the proxy-authorization header.
    proxy.on('connect', (req: IncomingMessage, client: Socket) => {
      sockets.add(client);
      client.on('error', () => {});
      auths.push(req.headers['proxy-authorization']);
      if (req.headers['proxy-authorization'] === `Basic ${Buffer.from('no:no').toString('base64')}`) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
    });
    proxyUrl = `http://127.0.0.1:${await listen(proxy)}`;
    serve = startCli(['serve', 'ws', '--port', '0']);
    base = (await serve.waitFor(/^(ws:\/\/\S+)\n/))[1] ?? '';
  });

  afterAll(async () => {
    serve.kill('SIGINT');
    await serve.exited;
    killSurvivors();
    for (const s of sockets) s.destroy();
    proxy.close();
  });

  const clean = { NO_PROXY: '', no_proxy: '', http_proxy: '', https_proxy: '' };

  it('HTTP_PROXY tunnels the connection; NO_PROXY=127.0.0.1 bypasses it', async () => {
    const before = tunnels.length;
    const via = await runCli(['ws', `${base}/echo`, '-m', 'through', '-v'], {
      env: { ...clean, HTTP_PROXY: proxyUrl },
    });
    expect(via.code).toBe(0);
    expect(via.stdout).toBe('through\n');
    expect(via.stderr).toMatch(/via proxy http:\/\/127\.0\.0\.1:\d+ \(CONNECT\)/);
    expect(tunnels.slice(before)).toEqual([new URL(base).host]);
    const direct = await runCli(['ws', `${base}/echo`, '-m', 'direct'], {
      env: { ...clean, HTTP_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' },
    });
    expect(direct.code).toBe(0);
    expect(direct.stdout).toBe('direct\n');
    expect(tunnels).toHaveLength(before + 1);
  });

  it('load mode opens its -c connections through the proxy', async () => {
    const before = tunnels.length;
    const r = await runCli(['ws', `${base}/echo`, '-m', 'x', '-n', '20', '-c', '2', '--json'], {
      env: { ...clean, HTTP_PROXY: proxyUrl },
    });
    expect(r.code).toBe(0);
    expect(tunnels.length - before).toBe(2);
  });

  it('wss:// through HTTPS_PROXY: TLS to the target inside the tunnel', async () => {
    const certs = makeCerts();
    const https = createHttpsServer({
      cert: readFileSync(certs.serverCert),
      key: readFileSync(certs.serverKey),
    });
    const wss = new WebSocketServer({ server: https });
    wss.on('connection', (sock) => sock.send('secure'));
    const port = await listen(https);
    const before = tunnels.length;
    try {
      const r = await runCli(['ws', `wss://localhost:${port}/`, '--cacert', certs.caCert, '--count', '1'], {
        env: { ...clean, HTTPS_PROXY: proxyUrl },
      });
      expect(r.stderr).toMatch(/connected/);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('secure\n');
      expect(tunnels.slice(before)).toEqual([`localhost:${port}`]);
    } finally {
      wss.close();
      https.close();
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  it('proxy credentials go in Proxy-Authorization; a 407 is a one-line connect error (exit 3)', async () => {
    const r = await runCli(['ws', `${base}/echo`, '-m', 'x'], {
      env: { ...clean, HTTP_PROXY: proxyUrl.replace('http://', 'http://no:no@') },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refused the tunnel: 407 Proxy Authentication Required/);
    expect(r.stderr).not.toMatch(/no:no/);
    expect(auths.at(-1)).toBe(`Basic ${Buffer.from('no:no').toString('base64')}`);
  });

  it('an unusable proxy URL in the environment is exit 2', async () => {
    const r = await runCli(['ws', `${base}/echo`, '-m', 'x'], {
      env: { ...clean, HTTP_PROXY: 'socks5://127.0.0.1:1080' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unsupported HTTP_PROXY scheme 'socks5:'/);
  });
});
