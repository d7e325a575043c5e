import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type TestCerts } from '../kit/certs.js';
import { listen } from '../kit/listen.js';
import { type ServedProcess, serveGrpc } from '../kit/serve.js';
import { runCli } from '../kit/spawn-cli.js';

/**
 * A one-shot call leaves nothing running once its verdict is out: the event loop drains and the
 * process ends by itself. main.ts' exit grace timer (300 ms) would otherwise end it, which hides a
 * leak (a warm-up server left listening once cost every `http get` 300 ms of wall time). A preload
 * says which way the process ended: `beforeExit` only fires when the loop drained on its own.
 */
const MARK = 'loop drained';
let dir: string;
let preload: string;
let certs: TestCerts;
let http: Server;
let https: HttpsServer;
let httpUrl: string;
let httpsUrl: string;
let grpc: ServedProcess & { addr: string };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exit-drains-'));
  preload = join(dir, 'drained.cjs');
  writeFileSync(
    preload,
    `process.once('beforeExit', () => process.stderr.write(${JSON.stringify(`${MARK}\n`)}));\n`,
  );
  certs = makeCerts();
  http = createServer((_req, res) => res.end('ok\n'));
  httpUrl = `http://127.0.0.1:${await listen(http)}/`;
  https = createHttpsServer(
    { cert: certs.read(certs.serverCert), key: certs.read(certs.serverKey) },
    (_req, res) => res.end('ok\n'),
  );
  httpsUrl = `https://127.0.0.1:${await listen(https)}/`;
  grpc = await serveGrpc();
});

afterAll(async () => {
  await grpc?.stop();
  http.closeAllConnections();
  https.closeAllConnections();
  await new Promise((r) => http.close(r));
  await new Promise((r) => https.close(r));
  rmSync(dir, { recursive: true, force: true });
  rmSync(certs.dir, { recursive: true, force: true });
});

const drained = (args: string[]) => runCli(args, { env: { NODE_OPTIONS: `--require ${preload}` } });

describe('a one-shot call ends by itself once its verdict is out', () => {
  it('http get', async () => {
    const r = await drained(['http', 'get', httpUrl]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(MARK);
  });

  it('https get (its warm-up runs an https server of its own)', async () => {
    const r = await drained(['http', 'get', httpsUrl, '--cacert', certs.caCert]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(MARK);
  });

  it('http get that fails (connection refused)', async () => {
    const r = await drained(['http', 'get', 'http://127.0.0.1:1/']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(MARK);
  });

  it('grpc call (its warm-up runs an http2 server of its own)', async () => {
    const r = await drained(['grpc', 'call', grpc.addr, 'inventory.Inventory/GetItem', '-d', '{"sku":"x"}']);
    expect([0, 1]).toContain(r.code);
    expect(r.stderr).toContain(MARK);
  });
});
