import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

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
