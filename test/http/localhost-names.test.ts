import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from '../kit/listen.js';
import { runCli } from '../kit/spawn-cli.js';

/*
 * `localhost` and `*.localhost` are loopback (RFC 6761), answered without the system resolver, as
 * curl does (issue 10, timing: the process's first getaddrinfo read 2-3 ms of `dns` where curl reads
 * ~0.04 ms). 127.0.0.1 first, then ::1.
 */

async function listenOn(server: Server, host: string): Promise<number | undefined> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  } catch {
    return undefined; // no IPv6 loopback on this machine
  }
}

describe('http: localhost names', () => {
  const v4 = createServer((req, res) => res.end(`v4 ${req.headers.host}\n`));
  const v6 = createServer((_req, res) => res.end('v6\n'));
  let v4Port: number;
  let v6Port: number | undefined;
  beforeAll(async () => {
    v4Port = await listen(v4);
    v6Port = await listenOn(v6, '::1');
  });
  afterAll(async () => {
    for (const s of [v4, v6]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  it('a *.localhost name reaches 127.0.0.1 with its own Host header, and reports a dns phase', async () => {
    const r = await runCli(['http', 'get', `http://app.localhost:${v4Port}/`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(res.body).toBe(`v4 app.localhost:${v4Port}\n`);
    expect(res.timing.dns).toBeGreaterThanOrEqual(0);
  });

  it('localhost falls back to ::1 when nothing listens on 127.0.0.1', async (ctx) => {
    if (v6Port === undefined) ctx.skip();
    const r = await runCli(['http', 'get', `http://localhost:${v6Port}/`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('v6\n');
  });
});
