import { rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { lastJson } from '../kit/ndjson.js';
import { runCli } from '../kit/spawn-cli.js';

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
    expect((lastJson(r.stdout).timing as Record<string, number>).tls).toBeGreaterThan(0);
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
      expect(lastJson(r.stdout)).toMatchObject({ httpVersion: 'HTTP/2', body: 'h2 2.0' });
    } finally {
      h2.close();
    }
  });
});
